using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Worker.Connector.Http;

/// <summary>An upstream HTTP answer as the runtime returned it (header names lower-case).</summary>
public sealed record HttpResponse
{
    public required int StatusCode { get; init; }
    private string? _body;
    private ReadOnlyMemory<byte>? _bodyUtf8;

    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The body as text (decoded on first use when the response was built from UTF-8).</summary>
    public string Body
    {
        get => _body ??= _bodyUtf8 is { } utf8 ? Encoding.UTF8.GetString(utf8.Span) : "";
        init => _body = value;
    }

    /// <summary>
    /// The body as UTF-8. Responses from the runtime are built this way, so a multi-megabyte stream is never held as a
    /// UTF-16 string unless someone asks for <see cref="Body"/>.
    /// </summary>
    public ReadOnlyMemory<byte> BodyUtf8
    {
        get => _bodyUtf8 ??= _body is null ? ReadOnlyMemory<byte>.Empty : Encoding.UTF8.GetBytes(_body);
        init => _bodyUtf8 = value;
    }

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

    public JsonDocument BodyAsJson() => JsonDocument.Parse(BodyUtf8);

    public T? BodyAs<T>(JsonTypeInfo<T> typeInfo) => JsonSerializer.Deserialize(BodyUtf8.Span, typeInfo);

    /// <summary>Throws the classified <see cref="ConnectorException"/> unless the status is 2xx.</summary>
    public HttpResponse EnsureSuccess(string? url = null) =>
        Is2xx ? this : throw HttpStatusClassifier.ToException(this, url);
}
