namespace Worker.Host.Intake;

/// <summary>
/// A continuously refilled bucket mirroring one of the endpoint's limits (requests or tokens): capacity, refill rate
/// and a level. Pure arithmetic on the times it is given.
/// </summary>
internal sealed class RateBucket
{
    private TimeSpan _updated;
    private double _peakSeen;

    /// <summary>True once a limit is known (configured or reported).</summary>
    public bool Known => RatePerSecond > 0;

    public double Capacity { get; private set; }

    public double RatePerSecond { get; private set; }

    public double Level { get; private set; }

    /// <summary>The per-minute limit as configured or last reported.</summary>
    public long LimitPerMinute { get; private set; }

    /// <summary>Sets the per-minute limit; the capacity starts at one minute's worth (as the hosted APIs allow) until answers show less.</summary>
    public void SetLimit(long perMinute, TimeSpan now)
    {
        if (perMinute <= 0 || perMinute == LimitPerMinute)
        {
            return;
        }

        Refill(now, 1);
        var first = !Known;
        LimitPerMinute = perMinute;
        RatePerSecond = perMinute / 60.0;
        Capacity = first ? perMinute : Math.Min(Capacity, perMinute);
        Level = first ? Capacity : Math.Min(Level, Capacity);
    }

    public void Refill(TimeSpan now, double share)
    {
        if (now > _updated)
        {
            Level = Math.Min(Capacity, Level + ((now - _updated).TotalSeconds * RatePerSecond * share));
            _updated = now;
        }
    }

    public void Take(double amount) => Level -= amount;

    /// <summary>Time until <paramref name="amount"/> is available at the given share of the rate.</summary>
    public TimeSpan TimeUntil(double amount, double share)
    {
        var missing = Math.Min(amount, Capacity) - Level;
        return missing <= 0 || !Known ? TimeSpan.Zero : TimeSpan.FromSeconds(missing / (RatePerSecond * share));
    }

    /// <summary>
    /// Aligns the level with what the endpoint reported: never above our share of what is available. The capacity
    /// learns the largest level the endpoint has shown (<paramref name="seen"/> = remaining + this request's charge),
    /// so a bucket smaller than a minute's worth is not planned as one.
    /// </summary>
    public void Sync(double available, double seen, double share)
    {
        if (LimitPerMinute > 0)
        {
            _peakSeen = Math.Max(_peakSeen, seen);
            Capacity = Math.Min(LimitPerMinute, Math.Max(1, _peakSeen));
        }

        Level = Math.Min(Level, Math.Min(Capacity, share * available));
    }

    /// <summary>Empties the bucket (a 429 on this limit): the next request waits for a refill.</summary>
    public void Drain() => Level = Math.Min(Level, 0);
}
