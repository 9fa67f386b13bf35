namespace Worker.Host.Intake;

/// <summary>
/// How many calls one endpoint gets at once, adapted to it (TCP Vegas, as Netflix's concurrency-limits use it):
/// latency above the best seen means requests queue at the server, by about
/// <c>limit × (1 − best/latency)</c> of them. Fewer than <see cref="Alpha"/> queued: one more call allowed; more than
/// <see cref="Beta"/>: one fewer. An overload (503/529, a 429 without rate-limit headers) cuts the limit by a quarter. Servers that send
/// no rate-limit headers (vLLM, TGI, llama.cpp) are kept near their capacity this way alone. Pure: every method takes
/// the time.
/// </summary>
internal sealed class ConcurrencyLimit
{
    private const double Alpha = 2;
    private const double Beta = 4;
    private const double Smoothing = 0.2;
    private static readonly TimeSpan MinRttWindow = TimeSpan.FromSeconds(30);

    private readonly int _max;
    private readonly bool _adaptive;
    private double _limit;
    private double _smoothedRtt;
    private TimeSpan _minRtt = TimeSpan.MaxValue;
    private TimeSpan _previousMinRtt = TimeSpan.MaxValue;
    private TimeSpan _windowStart;
    private TimeSpan _lastDecrease = TimeSpan.FromDays(-1);

    public ConcurrencyLimit(int max, bool adaptive)
    {
        _max = Math.Max(1, max);
        _adaptive = adaptive;
        _limit = _max;
    }

    public int Limit => (int)Math.Max(1, Math.Floor(_limit));

    public int InFlight { get; private set; }

    public bool TryAcquire()
    {
        if (InFlight >= Limit)
        {
            return false;
        }

        InFlight++;
        return true;
    }

    /// <summary>Ends a call. <paramref name="latency"/> is its time to first byte of the answer (or whole time), when it succeeded.</summary>
    public void Release(TimeSpan now, TimeSpan? latency, bool overloaded)
    {
        var inFlight = InFlight;
        InFlight = Math.Max(0, InFlight - 1);
        if (!_adaptive)
        {
            return;
        }

        if (overloaded)
        {
            if (now - _lastDecrease >= BestRtt(now, TimeSpan.FromMilliseconds(100)))
            {
                _limit = Math.Max(1, _limit * 0.75);
                _lastDecrease = now;
            }

            return;
        }

        if (latency is not { } rtt || rtt <= TimeSpan.Zero)
        {
            return;
        }

        if (now - _windowStart > MinRttWindow)
        {
            // A rolling minimum over two windows, so a faster or slower server is learned again.
            _previousMinRtt = _minRtt;
            _minRtt = TimeSpan.MaxValue;
            _windowStart = now;
        }

        if (rtt < _minRtt)
        {
            _minRtt = rtt;
        }

        _smoothedRtt = _smoothedRtt == 0 ? rtt.TotalSeconds : _smoothedRtt + (Smoothing * (rtt.TotalSeconds - _smoothedRtt));
        var best = BestRtt(now, rtt).TotalSeconds;
        var queued = _limit * (1 - (best / _smoothedRtt));
        if (queued > Beta)
        {
            _limit = Math.Max(1, _limit - (1 / Math.Sqrt(_limit)));
        }
        else if (queued < Alpha && inFlight >= Limit - 1)
        {
            // Grow only when the limit is what holds calls back.
            _limit = Math.Min(_max, _limit + (1 / Math.Sqrt(_limit)));
        }
    }

    private TimeSpan BestRtt(TimeSpan now, TimeSpan fallback)
    {
        var best = _minRtt < _previousMinRtt ? _minRtt : _previousMinRtt;
        return best == TimeSpan.MaxValue ? fallback : best;
    }
}
