using Worker.Connector.Http;

namespace Worker.Host.Intake;

/// <summary>
/// Paces one endpoint and model to its request and token limits, learned from every answer's <c>x-ratelimit-*</c>
/// headers (or configured). Several workers share a key without talking to each other: the endpoint's "remaining"
/// is the shared state, and each worker plans with its share of it — a share that shrinks on a 429 and grows while
/// the endpoint shows room (additive increase, multiplicative decrease), so N workers settle near 1/N each.
/// Pure: every method takes the time.
/// </summary>
internal sealed class EndpointPacer
{
    private const double MinShare = 0.05;
    private const double Decrease = 0.8;

    // Additive increase is per second of healthy answers, not per answer: a worker sending hundreds of calls a second
    // must not grow its share hundreds of times faster than one sending a few.
    private const double IncreasePerSecond = 0.05;
    private static readonly TimeSpan MinDecreaseInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxDecreaseInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan SendLogWindow = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly RateBucket _requests = new();
    private readonly RateBucket _tokens = new();
    private readonly SendLog _sent = new();
    private TimeSpan _holdUntil;
    private TimeSpan _lastDecrease = TimeSpan.FromDays(-1);
    private TimeSpan _lastIncrease;
    private double _roundTripSeconds;
    private int _consecutiveLimited;

    public EndpointPacer(long requestsPerMinute, long tokensPerMinute, TimeSpan now)
    {
        _requests.SetLimit(requestsPerMinute, now);
        _tokens.SetLimit(tokensPerMinute, now);
    }

    /// <summary>This worker's share of the endpoint's rates (1 alone; about 1/N when N workers share a key).</summary>
    public double Share { get; private set; } = 1;

    public long RequestsPerMinute => _requests.LimitPerMinute;

    public long TokensPerMinute => _tokens.LimitPerMinute;

    /// <summary>The token limit as a bucket holds it: a request larger than this can never be admitted.</summary>
    public double TokenCapacity => _tokens.Known ? _tokens.LimitPerMinute : double.PositiveInfinity;

    /// <summary>Takes one request of <paramref name="tokens"/> when the limits allow it now; otherwise how long to wait, and for which limit.</summary>
    public (TimeSpan Wait, string? Reason) TryTake(TimeSpan now, double tokens)
    {
        _requests.Refill(now, Share);
        _tokens.Refill(now, Share);
        var (wait, reason) = _holdUntil > now ? (_holdUntil - now, "rate_limited") : (TimeSpan.Zero, null);
        if (_requests.TimeUntil(1, Share) is var requests && requests > wait)
        {
            (wait, reason) = (requests, "requests");
        }

        if (_tokens.TimeUntil(tokens, Share) is var forTokens && forTokens > wait)
        {
            (wait, reason) = (forTokens, "tokens");
        }

        if (wait > TimeSpan.Zero)
        {
            return (wait, reason);
        }

        _requests.Take(1);
        _tokens.Take(tokens);
        _sent.Add(now, tokens);
        return (TimeSpan.Zero, null);
    }

    /// <summary>
    /// Learns from an answer to a request sent at <paramref name="sentAt"/> that was charged <paramref name="tokens"/>.
    /// The endpoint counted everything that reached it before that request; what this worker sent since is subtracted
    /// and the refill since is added, so the level is not counted twice.
    /// </summary>
    public void Observe(TimeSpan now, TimeSpan sentAt, double tokens, RateLimitSnapshot? snapshot, bool rateLimited, TimeSpan? retryAfter)
    {
        _sent.Prune(now - SendLogWindow);
        var healthy = !rateLimited;
        var roundTrip = Math.Max(0, (now - sentAt).TotalSeconds);
        _roundTripSeconds = _roundTripSeconds == 0 ? roundTrip : _roundTripSeconds + (0.1 * (roundTrip - _roundTripSeconds));
        if (snapshot is not null)
        {
            _requests.SetLimit(snapshot.LimitRequests ?? 0, now);
            _tokens.SetLimit(snapshot.LimitTokens ?? 0, now);
            _requests.Refill(now, Share);
            _tokens.Refill(now, Share);
            var (laterRequests, laterTokens) = _sent.After(sentAt);
            var elapsed = Math.Max(0, (now - sentAt).TotalSeconds);
            if (snapshot.HasRequests)
            {
                var available = snapshot.RemainingRequests!.Value + (elapsed * _requests.RatePerSecond) - laterRequests;
                _requests.Sync(available, snapshot.RemainingRequests.Value + 1, Share);
                healthy &= available >= 2;
            }

            if (snapshot.HasTokens)
            {
                var available = snapshot.RemainingTokens!.Value + (elapsed * _tokens.RatePerSecond) - laterTokens;
                _tokens.Sync(available, snapshot.RemainingTokens.Value + tokens, Share);
                healthy &= available >= 2 * tokens;
            }
        }

        if (rateLimited)
        {
            _consecutiveLimited++;
            var limitedBy = snapshot?.LimitedBy;
            if (limitedBy is null or "requests")
            {
                _requests.Drain();
            }

            if (limitedBy is null or "tokens")
            {
                _tokens.Drain();
            }

            // With no limits known and no Retry-After, only a backoff keeps the worker from hammering the endpoint.
            var hold = retryAfter ?? (_requests.Known || _tokens.Known ? TimeSpan.Zero : Backoff(_consecutiveLimited));
            if (now + hold > _holdUntil)
            {
                _holdUntil = now + hold;
            }

            if (now - _lastDecrease >= DecreaseInterval)
            {
                // One decrease per round trip (as TCP does): the 429s of one burst are one signal, not many.
                Share = Math.Max(MinShare, Share * Decrease);
                _lastDecrease = now;
            }
        }
        else
        {
            _consecutiveLimited = 0;
            if (healthy && Share < 1)
            {
                Share = Math.Min(1, Share + (IncreasePerSecond * Math.Min(1, (now - _lastIncrease).TotalSeconds)));
            }
        }

        if (rateLimited || !healthy || now > _lastIncrease)
        {
            _lastIncrease = now;
        }
    }

    /// <summary>Returns a request's charge that never reached the endpoint (the call failed before it was sent).</summary>
    public void Refund(double tokens)
    {
        _requests.Take(-1);
        _tokens.Take(-tokens);
    }

    private TimeSpan DecreaseInterval => TimeSpan.FromSeconds(
        Math.Clamp(2 * _roundTripSeconds, MinDecreaseInterval.TotalSeconds, MaxDecreaseInterval.TotalSeconds));

    private static TimeSpan Backoff(int attempt) =>
        TimeSpan.FromMilliseconds(Math.Min(MaxBackoff.TotalMilliseconds, 500 * Math.Pow(2, Math.Min(attempt - 1, 16))));

    /// <summary>This worker's recent sends with running totals, to tell what it sent after a given moment.</summary>
    private sealed class SendLog
    {
        private readonly List<(TimeSpan At, long Requests, double Tokens)> _entries = [];
        private int _start;
        private long _requests;
        private double _tokens;

        public void Add(TimeSpan at, double tokens)
        {
            _requests++;
            _tokens += tokens;
            _entries.Add((at, _requests, _tokens));
        }

        public (long Requests, double Tokens) After(TimeSpan at)
        {
            // Binary search for the first entry after 'at'; everything from there on was sent later.
            int low = _start, high = _entries.Count;
            while (low < high)
            {
                var middle = (low + high) / 2;
                if (_entries[middle].At <= at)
                {
                    low = middle + 1;
                }
                else
                {
                    high = middle;
                }
            }

            if (low >= _entries.Count)
            {
                return (0, 0);
            }

            var before = low > 0 ? _entries[low - 1] : (At: TimeSpan.Zero, Requests: 0L, Tokens: 0.0);
            return (_requests - before.Requests, _tokens - before.Tokens);
        }

        public void Prune(TimeSpan olderThan)
        {
            while (_start < _entries.Count - 1 && _entries[_start].At < olderThan)
            {
                _start++;
            }

            if (_start > 4096 && _start > _entries.Count / 2)
            {
                _entries.RemoveRange(0, _start - 1);
                _start = 1;
            }
        }
    }
}
