using System.Text.Json;
using Worker.Connector.Http;

namespace Worker.Connector.Anthropic;

/// <summary>Anthropic's error object, <c>{"type":"error","error":{"type","message"}}</c>, and the class its type decides.</summary>
public sealed record AnthropicError(string? Type, string? Message)
{
    /// <summary>
    /// 529 <c>overloaded_error</c> and 500 <c>api_error</c> are worth retrying, 429 <c>rate_limit_error</c> is a rate
    /// limit, 400 (and 404, 413) <c>invalid_request_error</c> the request's fault, 401/403 a key problem. The type
    /// wins over the status, since an error event arrives inside a 200 stream.
    /// </summary>
    public ErrorClass Classify(int statusCode) => Type switch
    {
        "overloaded_error" or "api_error" => ErrorClass.Transient,
        "rate_limit_error" => ErrorClass.RateLimited,
        "authentication_error" or "permission_error" or "billing_error" => ErrorClass.Permanent,
        "invalid_request_error" or "not_found_error" or "request_too_large" => ErrorClass.InvalidRequest,
        _ when statusCode is >= 200 and < 300 => ErrorClass.Transient,
        _ => HttpStatusClassifier.Classify(statusCode),
    };

    /// <summary>The error in a body or an <c>error</c> event's data; null when there is none.</summary>
    public static AnthropicError? TryRead(ReadOnlyMemory<byte> json)
    {
        var trimmed = json.Span.TrimStart(" \t\r\n"u8);
        if (trimmed.IsEmpty || trimmed[0] != (byte)'{' || json.Length > 64 * 1024)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            if (!document.RootElement.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            return new AnthropicError(Text(error, "type"), Text(error, "message"));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
