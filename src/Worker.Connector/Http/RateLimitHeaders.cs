using System.Globalization;

namespace Worker.Connector.Http;

/// <summary>
/// What an endpoint said about its rate limits on one answer (OpenAI's <c>x-ratelimit-*</c> headers): the per-minute
/// limits, what is left now, and how long until each bucket is full again. Any part may be missing.
/// </summary>
public sealed record RateLimitSnapshot
{
    public long? LimitRequests { get; init; }
    public long? RemainingRequests { get; init; }
    public TimeSpan? ResetRequests { get; init; }
    public long? LimitTokens { get; init; }
    public long? RemainingTokens { get; init; }
    public TimeSpan? ResetTokens { get; init; }

    /// <summary>On a 429: which limit was hit (<c>requests</c> or <c>tokens</c>, from the error body's type), when known.</summary>
    public string? LimitedBy { get; init; }

    public bool HasRequests => LimitRequests is > 0 && RemainingRequests is not null;

    public bool HasTokens => LimitTokens is > 0 && RemainingTokens is not null;
}

/// <summary>Reads the <c>x-ratelimit-*</c> headers, including OpenAI's Go-style durations (<c>1s</c>, <c>6m0s</c>, <c>120ms</c>).</summary>
public static class RateLimitHeaders
{
    public const string LimitRequests = "x-ratelimit-limit-requests";
    public const string LimitTokens = "x-ratelimit-limit-tokens";
    public const string RemainingRequests = "x-ratelimit-remaining-requests";
    public const string RemainingTokens = "x-ratelimit-remaining-tokens";
    public const string ResetRequests = "x-ratelimit-reset-requests";
    public const string ResetTokens = "x-ratelimit-reset-tokens";

    /// <summary>The snapshot of an answer's headers; null when it has none of them.</summary>
    public static RateLimitSnapshot? Read(HttpResponse response, string? limitedBy = null)
    {
        ArgumentNullException.ThrowIfNull(response);
        return Read(response.GetHeader, limitedBy);
    }

    /// <summary>The snapshot of a streamed answer's head; null when it has none of them.</summary>
    public static RateLimitSnapshot? Read(HttpResponseStream response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return Read(response.GetHeader, null);
    }

    private static RateLimitSnapshot? Read(Func<string, string?> header, string? limitedBy)
    {
        var snapshot = new RateLimitSnapshot
        {
            LimitRequests = ParseCount(header(LimitRequests)),
            RemainingRequests = ParseCount(header(RemainingRequests)),
            ResetRequests = ParseDuration(header(ResetRequests)),
            LimitTokens = ParseCount(header(LimitTokens)),
            RemainingTokens = ParseCount(header(RemainingTokens)),
            ResetTokens = ParseDuration(header(ResetTokens)),
            LimitedBy = limitedBy,
        };
        return snapshot.LimitRequests is null && snapshot.RemainingRequests is null && snapshot.LimitTokens is null
            && snapshot.RemainingTokens is null && limitedBy is null
            ? null
            : snapshot;
    }

    /// <summary>A non-negative integer count, else null.</summary>
    public static long? ParseCount(string? value) =>
        long.TryParse(value?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var count) ? count : null;

    /// <summary>
    /// A duration as the endpoints write it: a sequence of number+unit pairs (<c>h</c>, <c>m</c>, <c>s</c>, <c>ms</c>,
    /// <c>us</c>/<c>µs</c>, <c>ns</c>), numbers possibly fractional, e.g. <c>1m30.5s</c>; a bare number is seconds.
    /// Null when unreadable.
    /// </summary>
    public static TimeSpan? ParseDuration(string? value)
    {
        var text = value.AsSpan().Trim();
        if (text.IsEmpty || text.Length > 64)
        {
            return null;
        }

        if (double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var bare))
        {
            return bare < TimeSpan.MaxValue.TotalSeconds / 2 ? TimeSpan.FromSeconds(bare) : null;
        }

        double totalMs = 0;
        while (!text.IsEmpty)
        {
            var numberLength = 0;
            while (numberLength < text.Length && (char.IsAsciiDigit(text[numberLength]) || text[numberLength] == '.'))
            {
                numberLength++;
            }

            var unitLength = 0;
            while (numberLength + unitLength < text.Length && !char.IsAsciiDigit(text[numberLength + unitLength]) && text[numberLength + unitLength] != '.')
            {
                unitLength++;
            }

            if (numberLength == 0 || unitLength == 0
                || !double.TryParse(text[..numberLength], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                return null;
            }

            double? scale = text.Slice(numberLength, unitLength) switch
            {
                "h" => 3_600_000,
                "m" => 60_000,
                "s" => 1000,
                "ms" => 1,
                "us" or "µs" => 0.001,
                "ns" => 0.000_001,
                _ => null,
            };
            if (scale is null)
            {
                return null;
            }

            totalMs += number * scale.Value;
            text = text[(numberLength + unitLength)..];
        }

        return totalMs < TimeSpan.MaxValue.TotalMilliseconds / 2 ? TimeSpan.FromMilliseconds(totalMs) : null;
    }
}
