using System.Globalization;

namespace Worker.Simulator.Limits;

/// <summary>
/// Anthropic's rate limit headers: <c>anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}</c>, each group
/// only when that limit is configured, <c>reset</c> as an RFC 3339 time (Anthropic sends a moment, not a duration);
/// on a refusal <c>retry-after</c> in seconds (rounded up) when the draw says so.
/// </summary>
internal static class AnthropicRateLimitHeaders
{
    public static void Write(IHeaderDictionary headers, in RateLimitDecision decision, DateTimeOffset now)
    {
        if (decision.Requests is { } requests)
        {
            headers["anthropic-ratelimit-requests-limit"] = Number(requests.Limit);
            headers["anthropic-ratelimit-requests-remaining"] = Number(requests.Remaining);
            headers["anthropic-ratelimit-requests-reset"] = Rfc3339(now + requests.Reset);
        }

        if (decision.Tokens is { } tokens)
        {
            headers["anthropic-ratelimit-tokens-limit"] = Number(tokens.Limit);
            headers["anthropic-ratelimit-tokens-remaining"] = Number(tokens.Remaining);
            headers["anthropic-ratelimit-tokens-reset"] = Rfc3339(now + tokens.Reset);
        }

        if (decision is { SendRetryAfter: true, Refusal.RetryAfter: { } wait })
        {
            headers.RetryAfter = Number(Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)));
        }
    }

    /// <summary>Whole seconds, rounded up so a client waiting until then finds the bucket refilled.</summary>
    internal static string Rfc3339(DateTimeOffset moment)
    {
        var ticks = moment.UtcTicks;
        var rounded = new DateTimeOffset((ticks + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond * TimeSpan.TicksPerSecond, TimeSpan.Zero);
        return rounded.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
