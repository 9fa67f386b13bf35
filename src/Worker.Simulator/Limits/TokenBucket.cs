namespace Worker.Simulator.Limits;

/// <summary>
/// A continuously refilled token bucket: holds up to <see cref="Capacity"/>, refills at <c>perMinute / 60</c> per
/// second. Pure arithmetic on a caller-supplied clock (time since an arbitrary origin), so it is tested without
/// waiting. Not thread-safe: its owner (<see cref="KeyRateLimits"/>) serialises access.
/// </summary>
internal sealed class TokenBucket
{
    // Guards against 0.9999999 after a refill that should be exactly 1.
    private const double Epsilon = 1e-9;

    private readonly double _perSecond;
    private double _level;
    private TimeSpan _updatedAt;

    /// <summary>Creates a full bucket.</summary>
    public TokenBucket(int perMinute, double burstSeconds, TimeSpan now)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(perMinute);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(burstSeconds);
        PerMinute = perMinute;
        _perSecond = perMinute / 60.0;
        Capacity = _perSecond * burstSeconds;
        _level = Capacity;
        _updatedAt = now;
    }

    /// <summary>The configured limit per minute (what <c>x-ratelimit-limit-*</c> reports).</summary>
    public int PerMinute { get; }

    public double Capacity { get; }

    /// <summary>The level at <paramref name="now"/>, refilled since the last call (the clock never runs backwards here).</summary>
    public double Level(TimeSpan now)
    {
        if (now > _updatedAt)
        {
            _level = Math.Min(Capacity, _level + ((now - _updatedAt).TotalSeconds * _perSecond));
            _updatedAt = now;
        }

        return _level;
    }

    /// <summary>Whether <paramref name="cost"/> can be taken now.</summary>
    public bool Fits(double cost, TimeSpan now) => cost <= Level(now) + Epsilon;

    /// <summary>Whether the bucket could ever hold <paramref name="cost"/> (else waiting never helps).</summary>
    public bool CanEverFit(double cost) => cost <= Capacity + Epsilon;

    /// <summary>Takes <paramref name="cost"/>; call <see cref="Fits"/> first.</summary>
    public void Take(double cost, TimeSpan now) => _level = Math.Max(0, Level(now) - cost);

    /// <summary>Whole units left: what <c>x-ratelimit-remaining-*</c> reports.</summary>
    public long Remaining(TimeSpan now) => (long)Math.Floor(Level(now) + Epsilon);

    /// <summary>Units consumed and not yet refilled, rounded up (the "Used" of OpenAI's 429 message).</summary>
    public long Used(TimeSpan now) => (long)Math.Ceiling(Capacity - Level(now) - Epsilon);

    /// <summary>Time until the bucket is full again: what <c>x-ratelimit-reset-*</c> reports.</summary>
    public TimeSpan UntilFull(TimeSpan now) => TimeSpan.FromSeconds((Capacity - Level(now)) / _perSecond);

    /// <summary>Time until <paramref name="cost"/> fits (zero when it fits now).</summary>
    public TimeSpan UntilFits(double cost, TimeSpan now) =>
        TimeSpan.FromSeconds(Math.Max(0, cost - Level(now)) / _perSecond);

    public BucketState State(TimeSpan now) => new(PerMinute, Remaining(now), UntilFull(now));
}
