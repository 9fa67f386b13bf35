using System.Text.Json;

namespace Worker.Connector.Http;

/// <summary>
/// Reads the <c>http</c>/<c>request</c> response payload straight into an <see cref="HttpResponse"/>, keeping the body
/// as UTF-8: a streamed answer of several megabytes is unescaped once into bytes instead of becoming a UTF-16 string
/// and then bytes again.
/// </summary>
internal static class HttpResponsePayloadReader
{
    /// <exception cref="JsonException">The payload is not the expected JSON object.</exception>
    public static HttpResponse Read(ReadOnlySpan<byte> payload, ulong requestId, TimeSpan duration)
    {
        var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 8 });
        Expect(ref reader, JsonTokenType.StartObject);
        var status = 0;
        var streaming = false;
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        ReadOnlyMemory<byte> body = ReadOnlyMemory<byte>.Empty;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString();
            reader.Read();
            switch (name)
            {
                case "status_code" when reader.TokenType == JsonTokenType.Number:
                    status = reader.GetInt32();
                    break;
                case "is_streaming" when reader.TokenType is JsonTokenType.True or JsonTokenType.False:
                    streaming = reader.GetBoolean();
                    break;
                case "body" when reader.TokenType == JsonTokenType.String:
                    body = Unescape(ref reader);
                    break;
                case "headers" when reader.TokenType == JsonTokenType.StartObject:
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var header = reader.GetString()!;
                        reader.Read();
                        // Indexer assignment: a peer sending one name twice in different case must not make this throw.
                        if (reader.TokenType == JsonTokenType.String)
                        {
                            headers[header] = reader.GetString()!;
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }

                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject)
        {
            throw new JsonException("The response payload is not a JSON object.");
        }

        return new HttpResponse
        {
            StatusCode = status,
            Headers = headers,
            BodyUtf8 = body,
            IsStreaming = streaming,
            Duration = duration,
            RequestId = requestId,
        };
    }

    private static ReadOnlyMemory<byte> Unescape(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            return reader.ValueSpan.ToArray();
        }

        // Unescaping never makes the text longer than its escaped form.
        var length = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        var buffer = new byte[length];
        var written = reader.CopyString(buffer);
        return buffer.AsMemory(0, written);
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (!reader.Read() || reader.TokenType != type)
        {
            throw new JsonException($"Expected {type} in the response payload.");
        }
    }
}
