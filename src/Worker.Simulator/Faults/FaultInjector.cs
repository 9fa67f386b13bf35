using Microsoft.Extensions.Options;
using Worker.Simulator.Generation;
using Worker.Simulator.Options;

namespace Worker.Simulator.Faults;

/// <summary>
/// Draws random faults (DI singleton). Draw i is a pure function of (seed, i), and i comes from an Interlocked
/// counter, so a given seed and request order always give the same faults without locks.
/// </summary>
internal sealed class FaultInjector
{
    private readonly double _rate;
    private readonly ulong _seed;
    private readonly FaultMode[] _modes;
    private long _sequence;

    public FaultInjector(IOptions<SimulatorOptions> options)
    {
        var faults = options.Value.Faults;
        _rate = faults.Rate;
        _seed = (ulong)(faults.Seed ?? Random.Shared.Next());
        RetryAfterSeconds = faults.RetryAfterSeconds;
        _modes = faults.Modes.Count == 0 ? FaultModeNames.DefaultRandomModes : ParseModes(faults.Modes);
    }

    public int RetryAfterSeconds { get; }

    /// <summary>The fault for the next request that has no X-Sim-Fault header.</summary>
    public FaultPlan Draw()
    {
        if (_rate <= 0)
        {
            return FaultPlan.None;
        }

        var n = (ulong)Interlocked.Increment(ref _sequence);
        var r = StableHash.Mix(_seed ^ (n * StableHash.Golden));
        var uniform = (r >> 11) * (1.0 / (1UL << 53));
        if (uniform >= _rate)
        {
            return FaultPlan.None;
        }

        var mode = _modes[(int)(StableHash.Mix(r) % (ulong)_modes.Length)];
        return new FaultPlan(mode, RetryAfterSeconds, AfterTokens: null);
    }

    private static FaultMode[] ParseModes(IList<string> names)
    {
        var modes = new List<FaultMode>(names.Count);
        foreach (var name in names)
        {
            // Names were checked by SimulatorOptionsValidator at start-up.
            if (FaultModeNames.TryParse(name, out var mode) && mode != FaultMode.None)
            {
                modes.Add(mode);
            }
        }

        return modes.Count == 0 ? FaultModeNames.DefaultRandomModes : [.. modes];
    }
}
