using System.Globalization;

namespace Worker.Connector.Http;

/// <summary>
/// Parses the retry hints an upstream sends: <c>Retry-After</c> (delta-seconds or an HTTP date, RFC 9110 §10.2.3)
/// and OpenAI's <c>retry-after-ms</c> (milliseconds, fractional allowed), which the official Python and Node SDKs
/// prefer as it is more precise.
/// </summary>
public static class RetryAfter
{
    /// <summary>The header OpenAI (and Azure OpenAI) send with a millisecond delay; it wins over Retry-After.</summary>
    public const string MillisecondsHeader = "retry-after-ms";

    /// <summary>The standard header.</summary>
    public const string Header = "retry-after";

    public static TimeSpan? Parse(string? value, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        value = value.Trim();
        if (double.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds))
        {
            return seconds >= 0 && seconds < TimeSpan.MaxValue.TotalSeconds ? TimeSpan.FromSeconds(seconds) : null;
        }

        if (DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date)
            || DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out date))
        {
            var delay = date - now;
            return delay > TimeSpan.Zero ? delay : TimeSpan.Zero;
        }

        return null;
    }

    /// <summary>A <c>retry-after-ms</c> value: a non-negative number of milliseconds, else null.</summary>
    public static TimeSpan? ParseMilliseconds(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)
            || !double.TryParse(value.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var milliseconds))
        {
            return null;
        }

        return milliseconds >= 0 && milliseconds < TimeSpan.MaxValue.TotalMilliseconds ? TimeSpan.FromMilliseconds(milliseconds) : null;
    }

    /// <summary>
    /// The delay an answer asks for, as the official SDKs read it: a valid <c>retry-after-ms</c> wins, otherwise
    /// <c>Retry-After</c>; null when neither is present or readable.
    /// </summary>
    public static TimeSpan? FromHeaders(string? retryAfterMs, string? retryAfter, DateTimeOffset now) =>
        ParseMilliseconds(retryAfterMs) ?? Parse(retryAfter, now);

    /// <summary><see cref="FromHeaders"/> on a runtime answer's headers.</summary>
    public static TimeSpan? FromResponse(HttpResponse response, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(response);
        return FromHeaders(response.GetHeader(MillisecondsHeader), response.GetHeader(Header), now);
    }
}
