using System.Globalization;

namespace Worker.Simulator.Limits;

/// <summary>
/// OpenAI's rate limit headers: <c>x-ratelimit-{limit,remaining,reset}-{requests,tokens}</c>, each group only when
/// that limit is configured; on a refusal also <c>retry-after</c> (seconds, rounded up) and <c>retry-after-ms</c>
/// when the draw says so.
/// </summary>
internal static class RateLimitHeaders
{
    public static void Write(IHeaderDictionary headers, in RateLimitDecision decision)
    {
        if (decision.Requests is { } requests)
        {
            headers["x-ratelimit-limit-requests"] = Number(requests.Limit);
            headers["x-ratelimit-remaining-requests"] = Number(requests.Remaining);
            headers["x-ratelimit-reset-requests"] = RateLimitDuration.Format(requests.Reset);
        }

        if (decision.Tokens is { } tokens)
        {
            headers["x-ratelimit-limit-tokens"] = Number(tokens.Limit);
            headers["x-ratelimit-remaining-tokens"] = Number(tokens.Remaining);
            headers["x-ratelimit-reset-tokens"] = RateLimitDuration.Format(tokens.Reset);
        }

        if (decision is { SendRetryAfter: true, Refusal.RetryAfter: { } wait })
        {
            var milliseconds = (long)Math.Ceiling(wait.TotalMilliseconds);
            headers.RetryAfter = Number(Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)));
            headers["retry-after-ms"] = Number(Math.Max(1, milliseconds));
        }
    }

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
