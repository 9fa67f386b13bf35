namespace Worker.Simulator.Options;

/// <summary>Default latency model (<c>Simulator:Latency</c>). Zero means "answer at once" and no timers at all.</summary>
public sealed class LatencyOptions
{
    /// <summary>Delay before the first token (streaming) or part of the delay before the answer (non-streaming).</summary>
    public int TimeToFirstTokenMs { get; set; }

    /// <summary>Delay between two tokens.</summary>
    public int TimePerTokenMs { get; set; }
}
