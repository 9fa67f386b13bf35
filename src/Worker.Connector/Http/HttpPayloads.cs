using System.Text.Json;
using System.Text.Json.Serialization;

namespace Worker.Connector.Http;

/// <summary>The <c>http</c>/<c>request</c> operation's request payload (UTF-8 JSON), as the original SDKs send it.</summary>
public sealed record HttpRequestPayload
{
    [JsonPropertyName("method")]
    public string? Method { get; init; }

    [JsonPropertyName("url")]
    public string? Url { get; init; }

    [JsonPropertyName("headers")]
    public Dictionary<string, string>? Headers { get; init; }

    [JsonPropertyName("body")]
    public string? Body { get; init; }

    /// <summary>Never prints header values: they carry API keys.</summary>
    public override string ToString() => $"{Method} {Url} ({Headers?.Count ?? 0} headers, {Body?.Length ?? 0} body chars)";
}

/// <summary>The <c>http</c>/<c>request</c> operation's response payload, as the original runtime sends it.</summary>
public sealed record HttpResponsePayload
{
    [JsonPropertyName("status_code")]
    public int StatusCode { get; init; }

    /// <summary>Header names lower-case.</summary>
    [JsonPropertyName("headers")]
    public Dictionary<string, string>? Headers { get; init; }

    [JsonPropertyName("body")]
    public string? Body { get; init; }

    /// <summary>True when the upstream answered text/event-stream (collected whole into <see cref="Body"/>).</summary>
    [JsonPropertyName("is_streaming")]
    public bool IsStreaming { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(HttpRequestPayload))]
[JsonSerializable(typeof(HttpResponsePayload))]
internal sealed partial class HttpPayloadJsonContext : JsonSerializerContext
{
    /// <summary>
    /// The relaxed encoder keeps non-ASCII text and HTML-sensitive characters as they are instead of \uXXXX escapes
    /// (up to 6× smaller for non-Latin text). Still valid JSON: the payload is never embedded in HTML.
    /// </summary>
    public static HttpPayloadJsonContext Relaxed { get; } = new(new JsonSerializerOptions
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}

/// <summary>Encodes and decodes the <c>http</c>/<c>request</c> payloads.</summary>
public static class HttpPayloadSerializer
{
    public const string ConnectorName = "http";
    public const string OperationName = "request";

    public static byte[] Serialize(HttpRequestPayload payload) =>
        JsonSerializer.SerializeToUtf8Bytes(payload, HttpPayloadJsonContext.Relaxed.HttpRequestPayload);

    public static byte[] Serialize(HttpResponsePayload payload) =>
        JsonSerializer.SerializeToUtf8Bytes(payload, HttpPayloadJsonContext.Relaxed.HttpResponsePayload);

    /// <summary>
    /// Writes a request payload from a UTF-8 body (a JSON request built as bytes) without making it a string first.
    /// Same JSON as <see cref="Serialize(HttpRequestPayload)"/>.
    /// </summary>
    public static byte[] SerializeRequest(string method, string url, IReadOnlyDictionary<string, string> headers, ReadOnlySpan<byte> utf8Body)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(utf8Body.Length + EscapeAllowance(utf8Body) + 512);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = HttpPayloadJsonContext.Relaxed.Options.Encoder }))
        {
            json.WriteStartObject();
            json.WriteString("method", method);
            json.WriteString("url", url);
            if (headers.Count > 0)
            {
                json.WriteStartObject("headers");
                foreach (var (name, value) in headers)
                {
                    json.WriteString(name, value);
                }

                json.WriteEndObject();
            }

            json.WriteString("body", utf8Body);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    // Escaping grows the body by one byte per quote, backslash and control character: size for that up front
    // so the writer never doubles and copies a multi-megabyte buffer.
    private static int EscapeAllowance(ReadOnlySpan<byte> utf8) =>
        utf8.Count((byte)'"') + utf8.Count((byte)'\\') + utf8.Count((byte)'\n') + utf8.Count((byte)'\r') + utf8.Count((byte)'\t');

    /// <summary>
    /// Writes a response payload from a UTF-8 body without making it a string first (a runtime relaying a
    /// multi-megabyte stream). The body must be valid UTF-8 (<see cref="System.Text.Unicode.Utf8.IsValid(ReadOnlySpan{byte})"/>).
    /// </summary>
    public static byte[] SerializeResponse(int statusCode, IReadOnlyDictionary<string, string>? headers, ReadOnlySpan<byte> utf8Body, bool isStreaming)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(utf8Body.Length + EscapeAllowance(utf8Body) + 1024);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = HttpPayloadJsonContext.Relaxed.Options.Encoder }))
        {
            json.WriteStartObject();
            json.WriteNumber("status_code", statusCode);
            if (headers is not null)
            {
                json.WriteStartObject("headers");
                foreach (var (name, value) in headers)
                {
                    json.WriteString(name, value);
                }

                json.WriteEndObject();
            }

            json.WriteString("body", utf8Body);
            json.WriteBoolean("is_streaming", isStreaming);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <exception cref="JsonException">The payload is not the expected JSON object.</exception>
    public static HttpRequestPayload DeserializeRequest(ReadOnlySpan<byte> utf8) =>
        JsonSerializer.Deserialize(utf8, HttpPayloadJsonContext.Default.HttpRequestPayload)
        ?? throw new JsonException("The payload is JSON null, not a request object.");

    /// <exception cref="JsonException">The payload is not the expected JSON object.</exception>
    public static HttpResponsePayload DeserializeResponse(ReadOnlySpan<byte> utf8) =>
        JsonSerializer.Deserialize(utf8, HttpPayloadJsonContext.Default.HttpResponsePayload)
        ?? throw new JsonException("The payload is JSON null, not a response object.");
}
