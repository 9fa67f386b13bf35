namespace Worker.Simulator.Options;

/// <summary>
/// A fixed number of generation slots (<c>Simulator:Capacity</c>), like a self-hosted server (vLLM) that has no rate
/// limit headers and only slows down or refuses when full. Off by default.
/// </summary>
public sealed class CapacityOptions
{
    /// <summary>Generations running at once; 0 = unlimited. A generation holds its slot until its last byte is written.</summary>
    public int MaxConcurrent { get; set; }

    /// <summary>What a request beyond <see cref="MaxConcurrent"/> gets: <see cref="CapacityOverflow.Queue"/> (default) or 503.</summary>
    public CapacityOverflow Overflow { get; set; } = CapacityOverflow.Queue;

    internal CapacityOptions Copy() => new() { MaxConcurrent = MaxConcurrent, Overflow = Overflow };
}
