namespace Worker.Simulator.Options;

/// <summary>Random fault injection (<c>Simulator:Faults</c>).</summary>
public sealed class FaultOptions
{
    /// <summary>Probability, 0..1, that a generation request without an <c>X-Sim-Fault</c> header gets a fault.</summary>
    public double Rate { get; set; }

    /// <summary>Seed of the draw; the same seed and request order give the same faults. Null: a random seed.</summary>
    public int? Seed { get; set; }

    /// <summary>
    /// Fault modes drawn from (names as in <c>X-Sim-Fault</c>, e.g. <c>rate_limit</c>). Empty means the default set:
    /// rate_limit, server_error, unavailable, drop, malformed, error_event (<c>hang</c> is opt-in because it never ends
    /// on its own).
    /// </summary>
    public IList<string> Modes { get; set; } = [];

    /// <summary>Value of the <c>Retry-After</c> header of injected 429 answers.</summary>
    public int RetryAfterSeconds { get; set; } = 1;
}
