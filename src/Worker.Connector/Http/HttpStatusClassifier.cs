using System.Text.Json;

namespace Worker.Connector.Http;

/// <summary>
/// The original runtime returns upstream HTTP errors as Success + status code, so classifying them is the client's
/// job: 429 → RateLimited, 408, 409 and 5xx → Transient, 401/403 → Permanent (API key refused), other 4xx →
/// InvalidRequest. The retry decision follows the official OpenAI Python and Node SDKs (the .NET one decides by status
/// only): 409 (a lock timeout on the server) is retried, and an <c>x-should-retry</c> header from the server overrides
/// the status either way.
/// </summary>
public static class HttpStatusClassifier
{
    /// <summary>The server's own verdict on retrying (<c>true</c>/<c>false</c>), honoured by the Python and Node SDKs.</summary>
    public const string ShouldRetryHeader = "x-should-retry";

    public static ErrorClass Classify(int statusCode) => statusCode switch
    {
        >= 200 and < 400 => ErrorClass.Success,
        429 => ErrorClass.RateLimited,
        408 or 409 => ErrorClass.Transient,
        401 or 403 => ErrorClass.Permanent,
        >= 400 and < 500 => ErrorClass.InvalidRequest,
        >= 500 and < 600 => ErrorClass.Transient,
        _ => ErrorClass.Permanent,
    };

    /// <summary>
    /// Like <see cref="Classify(int)"/>, with the server's <c>x-should-retry</c> header applied to a failure:
    /// <c>true</c> makes a non-retryable status Transient, <c>false</c> makes a retryable one Permanent (so it fails
    /// at once). Any other value, or none, leaves the status-based class. Successes are never changed.
    /// </summary>
    public static ErrorClass Classify(int statusCode, string? shouldRetry)
    {
        var byStatus = Classify(statusCode);
        if (byStatus == ErrorClass.Success)
        {
            return byStatus;
        }

        return ParseShouldRetry(shouldRetry) switch
        {
            true when !byStatus.IsRetryable() => ErrorClass.Transient,
            false when byStatus.IsRetryable() => ErrorClass.Permanent,
            _ => byStatus,
        };
    }

    /// <summary>The <c>x-should-retry</c> value: true, false, or null when absent or neither.</summary>
    public static bool? ParseShouldRetry(string? value) => value?.Trim() switch
    {
        { } v when v.Equals("true", StringComparison.OrdinalIgnoreCase) => true,
        { } v when v.Equals("false", StringComparison.OrdinalIgnoreCase) => false,
        _ => null,
    };

    /// <summary>
    /// The exception for a non-success answer. The message names the status and the upstream's own error message
    /// (OpenAI's <c>{"error":{"message"}}</c> when present), except for 401/403 whose upstream text may echo the key.
    /// </summary>
    public static ConnectorException ToException(HttpResponse response, string? url = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(response);
        var errorClass = Classify(response.StatusCode, response.GetHeader(ShouldRetryHeader));
        var error = UpstreamError(response.BodyUtf8);
        if (response.StatusCode == 429 && error.Code == InsufficientQuota)
        {
            // OpenAI answers an exhausted quota (billing) with 429 too; no wait will help, so it is not a rate limit.
            errorClass = ErrorClass.Permanent;
        }

        var where = url is null ? "the upstream" : SafeUrl(url);
        var message = response.StatusCode switch
        {
            401 or 403 => $"The API key was missing or refused by {where} (HTTP {response.StatusCode}). Check OPENAI_API_KEY.",
            _ => $"HTTP {response.StatusCode} from {where}" + (error.Message is { } text ? $": {text}" : "."),
        };
        return new ConnectorException(errorClass, message)
        {
            RequestId = response.RequestId,
            StatusCode = response.StatusCode,
            RetryAfter = RetryAfter.FromResponse(response, (time ?? TimeProvider.System).GetUtcNow()),
            RateLimit = RateLimitHeaders.Read(response, response.StatusCode == 429 && error.Type is "requests" or "tokens" ? error.Type : null),
        };
    }

    /// <summary>OpenAI's error code for an exhausted quota (a billing matter, not a rate).</summary>
    public const string InsufficientQuota = "insufficient_quota";

    /// <summary>
    /// Scheme, host, port and path only: user info (<c>user:secret@</c>) and the query string (Gemini's <c>?key=</c>)
    /// may carry credentials.
    /// </summary>
    public static string SafeUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri)
            ? uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped)
            : "the upstream";

    /// <summary>OpenAI's <c>{"error":{"message","type","code"}}</c>, the parts that are strings.</summary>
    private static (string? Message, string? Type, string? Code) UpstreamError(ReadOnlyMemory<byte> body)
    {
        var trimmed = body.Span.TrimStart(" \t\r\n"u8);
        if (trimmed.IsEmpty || body.Length > 64 * 1024 || trimmed[0] != (byte)'{')
        {
            return default;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            if (!document.RootElement.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object)
            {
                return default;
            }

            return (Text(error, "message") is { } message ? Truncate(message) : null, Text(error, "type"), Text(error, "code"));
        }
        catch (JsonException)
        {
            return default;
        }

        static string? Text(JsonElement error, string name) =>
            error.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
    }

    private static string Truncate(string text) => text.Length <= 500 ? text : text[..500] + "…";
}
