namespace Worker.Simulator.Options;

/// <summary>What happens to a generation request when every capacity slot is busy.</summary>
public enum CapacityOverflow
{
    /// <summary>It waits, first come first served, for a free slot (latency grows, like vLLM's scheduler queue).</summary>
    Queue,

    /// <summary>It is answered 503 (server overloaded) at once.</summary>
    Reject,
}
