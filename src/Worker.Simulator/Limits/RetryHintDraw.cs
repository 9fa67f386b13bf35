using Worker.Simulator.Generation;

namespace Worker.Simulator.Limits;

/// <summary>
/// Decides whether a 429 carries retry-after headers (<c>Simulator:RateLimits:RetryAfterProbability</c>). Draw i is
/// a pure function of (seed, i), as in the fault injector, so a seed gives a repeatable sequence without locks.
/// </summary>
internal sealed class RetryHintDraw(double probability, int? seed)
{
    private readonly ulong _seed = (ulong)(seed ?? Random.Shared.Next());
    private long _sequence;

    public bool Next()
    {
        if (probability >= 1)
        {
            return true;
        }

        if (probability <= 0)
        {
            return false;
        }

        var n = (ulong)Interlocked.Increment(ref _sequence);
        var r = StableHash.Mix(_seed ^ (n * StableHash.Golden));
        return (r >> 11) * (1.0 / (1UL << 53)) < probability;
    }
}
