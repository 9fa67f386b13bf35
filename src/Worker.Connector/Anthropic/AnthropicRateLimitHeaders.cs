using System.Globalization;
using Worker.Connector.Http;

namespace Worker.Connector.Anthropic;

/// <summary>
/// Reads Anthropic's <c>anthropic-ratelimit-{requests,tokens}-{limit,remaining,reset}</c> into the same
/// <see cref="RateLimitSnapshot"/> OpenAI's headers give, so admission can treat every endpoint alike. Anthropic's
/// reset is an RFC 3339 moment; it becomes the time left from now.
/// </summary>
public static class AnthropicRateLimitHeaders
{
    public static RateLimitSnapshot? Read(HttpResponse response, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(response);
        var snapshot = new RateLimitSnapshot
        {
            LimitRequests = Number(response, "anthropic-ratelimit-requests-limit"),
            RemainingRequests = Number(response, "anthropic-ratelimit-requests-remaining"),
            ResetRequests = Reset(response, "anthropic-ratelimit-requests-reset", now),
            LimitTokens = Number(response, "anthropic-ratelimit-tokens-limit"),
            RemainingTokens = Number(response, "anthropic-ratelimit-tokens-remaining"),
            ResetTokens = Reset(response, "anthropic-ratelimit-tokens-reset", now),
        };
        return snapshot.LimitRequests is null && snapshot.RemainingRequests is null && snapshot.LimitTokens is null && snapshot.RemainingTokens is null
            ? null
            : snapshot;
    }

    private static long? Number(HttpResponse response, string name) =>
        long.TryParse(response.GetHeader(name), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;

    private static TimeSpan? Reset(HttpResponse response, string name, DateTimeOffset now) =>
        DateTimeOffset.TryParse(response.GetHeader(name), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? (at > now ? at - now : TimeSpan.Zero)
            : null;
}
