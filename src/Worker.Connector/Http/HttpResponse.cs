using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Worker.Connector.Http;

/// <summary>An upstream HTTP answer as the runtime returned it (header names lower-case).</summary>
public sealed record HttpResponse
{
    public required int StatusCode { get; init; }
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
    public string Body { get; init; } = "";

    /// <summary>The upstream answered text/event-stream (the body is the whole stream).</summary>
    public bool IsStreaming { get; init; }

    /// <summary>Time the runtime spent on the request (its duration_us).</summary>
    public TimeSpan Duration { get; init; }

    public ulong RequestId { get; init; }

    public bool Is2xx => StatusCode is >= 200 and < 300;
    public bool Is3xx => StatusCode is >= 300 and < 400;
    public bool Is4xx => StatusCode is >= 400 and < 500;
    public bool Is5xx => StatusCode is >= 500 and < 600;

    /// <summary>Case-insensitive header lookup.</summary>
    public string? GetHeader(string name)
    {
        if (Headers.TryGetValue(name, out var value))
        {
            return value;
        }

        foreach (var (key, candidate) in Headers)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return candidate;
            }
        }

        return null;
    }

    public string? ContentType => GetHeader("content-type");

    public JsonDocument BodyAsJson() => JsonDocument.Parse(Body);

    public T? BodyAs<T>(JsonTypeInfo<T> typeInfo) => JsonSerializer.Deserialize(Body, typeInfo);

    /// <summary>Throws the classified <see cref="ConnectorException"/> unless the status is 2xx.</summary>
    public HttpResponse EnsureSuccess(string? url = null) =>
        Is2xx ? this : throw HttpStatusClassifier.ToException(this, url);
}
