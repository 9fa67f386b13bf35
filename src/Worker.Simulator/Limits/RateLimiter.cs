using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Worker.Simulator.Options;

namespace Worker.Simulator.Limits;

/// <summary>
/// Per-API-key rate limits (DI singleton): each key gets its own request and token buckets on first use, both full.
/// Keys are never forgotten; a simulator sees few of them.
/// </summary>
internal sealed class RateLimiter
{
    private readonly ConcurrentDictionary<string, KeyRateLimits> _keys = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly long _origin;
    private readonly RateLimitOptions _options;
    private readonly RetryHintDraw _retryHints;

    public RateLimiter(IOptions<SimulatorOptions> options, TimeProvider time)
    {
        _options = options.Value.RateLimits.Copy();
        _time = time;
        _origin = time.GetTimestamp();
        _retryHints = new RetryHintDraw(_options.RetryAfterProbability, _options.Seed);
    }

    public bool Enabled => _options.Enabled;

    /// <summary>Charges <paramref name="charge"/> to <paramref name="key"/>'s buckets, or refuses and charges nothing.</summary>
    public RateLimitDecision Admit(string key, RequestCharge charge)
    {
        var tokens = _options.TokensPerMinute > 0 ? charge.Tokens(_options.DefaultMaxTokens) : 0;
        var limits = _keys.GetOrAdd(key, static (_, self) => self.CreateLimits(), this);
        var decision = limits.Admit(tokens, Now());

        // Only a refusal that waiting can cure gets a hint; "Request too large" never fits.
        return decision.Refusal is { RetryAfter: not null }
            ? decision with { SendRetryAfter = _retryHints.Next() }
            : decision;
    }

    private TimeSpan Now() => _time.GetElapsedTime(_origin);

    private KeyRateLimits CreateLimits()
    {
        var now = Now();
        return new KeyRateLimits(
            _options.RequestsPerMinute > 0 ? new TokenBucket(_options.RequestsPerMinute, _options.BurstSeconds, now) : null,
            _options.TokensPerMinute > 0 ? new TokenBucket(_options.TokensPerMinute, _options.BurstSeconds, now) : null);
    }
}
