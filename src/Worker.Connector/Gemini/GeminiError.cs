using System.Text.Json;
using Worker.Connector.Http;

namespace Worker.Connector.Gemini;

/// <summary>Google's error object, <c>{"error":{"code","message","status"}}</c>, and the class its status decides.</summary>
public sealed record GeminiError(int? Code, string? Message, string? Status)
{
    /// <summary>
    /// RESOURCE_EXHAUSTED → RateLimited; INVALID_ARGUMENT / FAILED_PRECONDITION → InvalidRequest (except a refused
    /// API key, which Google answers 400 too: Permanent); UNAUTHENTICATED / PERMISSION_DENIED → Permanent;
    /// INTERNAL / UNAVAILABLE / DEADLINE_EXCEEDED → Transient; otherwise by HTTP status.
    /// </summary>
    public ErrorClass Classify(int statusCode) => Status switch
    {
        "RESOURCE_EXHAUSTED" => ErrorClass.RateLimited,
        "INVALID_ARGUMENT" when Message?.Contains("API key", StringComparison.OrdinalIgnoreCase) == true => ErrorClass.Permanent,
        "INVALID_ARGUMENT" or "FAILED_PRECONDITION" or "NOT_FOUND" or "OUT_OF_RANGE" => ErrorClass.InvalidRequest,
        "UNAUTHENTICATED" or "PERMISSION_DENIED" => ErrorClass.Permanent,
        "INTERNAL" or "UNAVAILABLE" or "DEADLINE_EXCEEDED" or "UNKNOWN" => ErrorClass.Transient,
        _ when statusCode is >= 200 and < 300 => HttpStatusClassifier.Classify(Code ?? 500),
        _ => HttpStatusClassifier.Classify(statusCode),
    };

    /// <summary>The error in a body or a stream element; null when there is none.</summary>
    public static GeminiError? TryRead(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("error", out var error) || error.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        int? code = error.TryGetProperty("code", out var c) && c.TryGetInt32(out var value) ? value : null;
        return new GeminiError(code, Text(error, "message"), Text(error, "status"));
    }

    public static GeminiError? TryRead(ReadOnlyMemory<byte> json)
    {
        var trimmed = json.Span.TrimStart(" \t\r\n"u8);
        if (trimmed.IsEmpty || json.Length > 64 * 1024 || trimmed[0] is not ((byte)'{' or (byte)'['))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;

            // A streamed answer without alt=sse is an array whose element may be the error.
            return root.ValueKind == JsonValueKind.Array && root.GetArrayLength() > 0 ? TryRead(root[root.GetArrayLength() - 1]) : TryRead(root);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
