using Worker.Connector.Http;
using Worker.Connector.Security;

namespace Worker.Connector.Providers;

/// <summary>
/// Builds the <see cref="ConnectorException"/> for a provider's failure: the class the provider's error decides, a
/// message naming the status, the safe URL and the upstream's own text (never for 401/403, whose text may echo the
/// key), the retry hint, and the key scrubbed from the message whatever the upstream wrote.
/// </summary>
public static class ProviderErrors
{
    /// <summary>A non-2xx answer.</summary>
    public static ConnectorException FromStatus(
        HttpResponse response,
        ErrorClass errorClass,
        string? upstreamMessage,
        string url,
        string apiKeyVariable,
        string? apiKey,
        TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(response);
        var where = HttpStatusClassifier.SafeUrl(url);
        var message = response.StatusCode is 401 or 403
            ? $"The API key was missing or refused by {where} (HTTP {response.StatusCode}). Check {apiKeyVariable}."
            : $"HTTP {response.StatusCode} from {where}" + (upstreamMessage is { } text ? $": {Truncate(text)}" : ".");
        return new ConnectorException(errorClass, SecretRedactor.Redact(message, apiKey))
        {
            RequestId = response.RequestId,
            StatusCode = response.StatusCode,
            RetryAfter = RetryAfter.FromResponse(response, (time ?? TimeProvider.System).GetUtcNow()),
        };
    }

    /// <summary>A failure reported inside a 200 answer (an error event in a stream, a blocked prompt, a body that does not parse).</summary>
    public static ConnectorException InBody(HttpResponse response, ErrorClass errorClass, string message, string? apiKey, Exception? inner = null)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new ConnectorException(errorClass, SecretRedactor.Redact(Truncate(message), apiKey), inner)
        {
            RequestId = response.RequestId,
            StatusCode = response.StatusCode,
        };
    }

    /// <summary>Scrubs the key from an exception raised below the client (runtime failures), keeping everything else.</summary>
    public static ConnectorException Redacted(ConnectorException exception, string? apiKey)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var redacted = SecretRedactor.Redact(exception.Message, apiKey);
        return redacted == exception.Message
            ? exception
            : new ConnectorException(exception.ErrorClass, redacted, exception.InnerException)
            {
                RequestId = exception.RequestId,
                StatusCode = exception.StatusCode,
                RetryAfter = exception.RetryAfter,
                RateLimit = exception.RateLimit,
                RuntimeUnavailable = exception.RuntimeUnavailable,
            };
    }

    private static string Truncate(string text) => text.Length <= 500 ? text : text[..500] + "…";
}
