using Worker.Connector.Http;
using Worker.Host.Intake;

namespace Worker.Host.Tests.Intake;

/// <summary>
/// A small discrete-time model of an endpoint that enforces requests and tokens per minute (continuously refilled
/// buckets, charged on arrival, as the hosted APIs and our simulator do) and of N workers, each pacing with its own
/// <see cref="EndpointPacer"/> and <see cref="ConcurrencyLimit"/> and nothing shared but the endpoint's answers.
/// It lets the tests check the pacing decisions themselves, quickly and deterministically.
/// </summary>
internal sealed class PacingSimulation
{
    private readonly List<(TimeSpan At, int Worker, TimeSpan SentAt, double Tokens, RateLimitSnapshot Snapshot, bool Limited, TimeSpan? RetryAfter)> _answers = [];

    public required int Workers { get; init; }
    public required int Concurrency { get; init; }
    public int RequestsPerMinute { get; init; }
    public long TokensPerMinute { get; init; }
    public double BurstSeconds { get; init; } = 1;
    public double TokensPerRequest { get; init; } = 100;

    /// <summary>The worker's estimate is this factor of the real charge (a tokenizer differs from the server's count).</summary>
    public double EstimateFactor { get; init; } = 1;

    public TimeSpan Latency { get; init; } = TimeSpan.FromMilliseconds(40);
    public bool SendRetryAfter { get; init; } = true;

    /// <summary>Per second: answers, 429s and each worker's share and concurrency limit (for failure messages).</summary>
    public List<string> Trace { get; } = [];

    public int Succeeded { get; private set; }
    public int RateLimited { get; private set; }

    /// <summary>What the binding limit allows in <paramref name="duration"/>: the burst plus the refill.</summary>
    public double Allowed(TimeSpan duration)
    {
        var byRequests = RequestsPerMinute > 0 ? (RequestsPerMinute / 60.0 * BurstSeconds) + (RequestsPerMinute / 60.0 * duration.TotalSeconds) : double.MaxValue;
        var byTokens = TokensPerMinute > 0 ? ((TokensPerMinute / 60.0 * BurstSeconds) + (TokensPerMinute / 60.0 * duration.TotalSeconds)) / TokensPerRequest : double.MaxValue;
        return Math.Min(byRequests, byTokens);
    }

    public void Run(TimeSpan duration)
    {
        var step = TimeSpan.FromMilliseconds(1);
        var requestRate = RequestsPerMinute / 60.0;
        var tokenRate = TokensPerMinute / 60.0;
        double requestLevel = requestRate * BurstSeconds, tokenLevel = tokenRate * BurstSeconds;
        var pacers = Enumerable.Range(0, Workers).Select(_ => new EndpointPacer(0, 0, TimeSpan.Zero)).ToArray();
        var limits = Enumerable.Range(0, Workers).Select(_ => new ConcurrencyLimit(Concurrency, adaptive: true)).ToArray();
        int lastOk = 0, last429 = 0;
        for (var now = TimeSpan.Zero; now < duration; now += step)
        {
            if (now.Ticks % TimeSpan.TicksPerSecond == 0 && now > TimeSpan.Zero)
            {
                Trace.Add($"t={now.TotalSeconds:0} ok={Succeeded - lastOk} 429={RateLimited - last429} share={string.Join('/', pacers.Select(p => p.Share.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)))} limit={string.Join('/', limits.Select(l => l.Limit))}");
                (lastOk, last429) = (Succeeded, RateLimited);
            }

            requestLevel = Math.Min(requestRate * BurstSeconds, requestLevel + (requestRate * step.TotalSeconds));
            tokenLevel = Math.Min(tokenRate * BurstSeconds, tokenLevel + (tokenRate * step.TotalSeconds));
            for (var i = _answers.Count - 1; i >= 0; i--)
            {
                var answer = _answers[i];
                if (answer.At <= now)
                {
                    _answers.RemoveAt(i);
                    pacers[answer.Worker].Observe(now, answer.SentAt, answer.Tokens, answer.Snapshot, answer.Limited, answer.RetryAfter);
                    limits[answer.Worker].Release(now, answer.Limited ? null : Latency, overloaded: false);
                }
            }

            for (var w = 0; w < Workers; w++)
            {
                // Each worker has an endless backlog and sends whenever its limits allow.
                while (limits[w].InFlight < limits[w].Limit && pacers[w].TryTake(now, TokensPerRequest * EstimateFactor).Wait == TimeSpan.Zero)
                {
                    limits[w].TryAcquire();
                    var fits = (RequestsPerMinute == 0 || requestLevel >= 1) && (TokensPerMinute == 0 || tokenLevel >= TokensPerRequest);
                    if (fits)
                    {
                        requestLevel -= 1;
                        tokenLevel -= TokensPerRequest;
                        Succeeded++;
                    }
                    else
                    {
                        RateLimited++;
                    }

                    var limitedBy = fits ? null : RequestsPerMinute > 0 && requestLevel < 1 ? "requests" : "tokens";
                    var snapshot = new RateLimitSnapshot
                    {
                        LimitRequests = RequestsPerMinute > 0 ? RequestsPerMinute : null,
                        RemainingRequests = RequestsPerMinute > 0 ? (long)Math.Max(0, requestLevel) : null,
                        LimitTokens = TokensPerMinute > 0 ? TokensPerMinute : null,
                        RemainingTokens = TokensPerMinute > 0 ? (long)Math.Max(0, tokenLevel) : null,
                        LimitedBy = limitedBy,
                    };
                    TimeSpan? retryAfter = !fits && SendRetryAfter
                        ? TimeSpan.FromSeconds(limitedBy == "requests" ? (1 - requestLevel) / requestRate : (TokensPerRequest - tokenLevel) / tokenRate)
                        : null;
                    _answers.Add((now + (fits ? Latency : TimeSpan.FromMilliseconds(5)), w, now, TokensPerRequest * EstimateFactor, snapshot, !fits, retryAfter));
                }
            }
        }
    }
}
