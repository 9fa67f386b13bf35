using System.Buffers.Text;
using System.Text.Json;

namespace Worker.Connector.OpenAi;

/// <summary>
/// Reads a <c>chat.completion.chunk</c> (or a whole <c>chat.completion</c>, or an error object) from UTF-8 with one
/// <see cref="Utf8JsonReader"/> pass. It is the hot path of every streamed answer — a call per event — and the
/// serializer's metadata-driven read costs a frame stack per nested object; this reads the same shapes with the same
/// rules as <see cref="OpenAiJsonContext"/> (case-sensitive names, unknown members skipped, numbers also from strings,
/// no comments or trailing commas, one value only).
/// </summary>
/// <exception cref="JsonException">Malformed JSON, or a member of the wrong type.</exception>
internal static class ChunkReader
{
    /// <summary>
    /// The chunk; null for the JSON literal <c>null</c>. With <paramref name="headerKnown"/> (a stream's id, model and
    /// created are already known: every later chunk repeats them) those members and <c>object</c> are checked for their
    /// type but not materialised — a stream's chunks would otherwise allocate the same strings again and again.
    /// </summary>
    public static ChunkDto? Read(ReadOnlySpan<byte> json, bool headerKnown = false)
    {
        var reader = new Utf8JsonReader(json, isFinalBlock: true, state: default);
        Next(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            End(ref reader);
            return null;
        }

        var chunk = ReadChunk(ref reader, headerKnown);
        End(ref reader);
        return chunk;
    }

    private static ChunkDto ReadChunk(ref Utf8JsonReader reader, bool headerKnown)
    {
        Expect(ref reader, JsonTokenType.StartObject);
        var chunk = new ChunkDto();
        while (Property(ref reader))
        {
            if (headerKnown && (reader.ValueTextEquals("object"u8) || reader.ValueTextEquals("id"u8) || reader.ValueTextEquals("model"u8)))
            {
                CheckString(ref reader);
            }
            else if (headerKnown && reader.ValueTextEquals("created"u8))
            {
                CheckInt64(ref reader);
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                chunk.Id = String(ref reader);
            }
            else if (reader.ValueTextEquals("object"u8))
            {
                chunk.Object = String(ref reader);
            }
            else if (reader.ValueTextEquals("created"u8))
            {
                chunk.Created = NullableInt64(ref reader);
            }
            else if (reader.ValueTextEquals("model"u8))
            {
                chunk.Model = String(ref reader);
            }
            else if (reader.ValueTextEquals("system_fingerprint"u8))
            {
                chunk.SystemFingerprint = String(ref reader);
            }
            else if (reader.ValueTextEquals("choices"u8))
            {
                chunk.Choices = List(ref reader, ReadChoice);
            }
            else if (reader.ValueTextEquals("usage"u8))
            {
                chunk.Usage = Object(ref reader, ReadUsage);
            }
            else if (reader.ValueTextEquals("error"u8))
            {
                chunk.Error = Object(ref reader, ReadError);
            }
            else
            {
                SkipValue(ref reader);
            }
        }

        return chunk;
    }

    private static ChoiceDto ReadChoice(ref Utf8JsonReader reader)
    {
        var choice = new ChoiceDto();
        while (Property(ref reader))
        {
            if (reader.ValueTextEquals("index"u8))
            {
                choice.Index = Int32(ref reader);
            }
            else if (reader.ValueTextEquals("delta"u8))
            {
                choice.Delta = Object(ref reader, ReadMessage);
            }
            else if (reader.ValueTextEquals("message"u8))
            {
                choice.Message = Object(ref reader, ReadMessage);
            }
            else if (reader.ValueTextEquals("finish_reason"u8))
            {
                choice.FinishReason = String(ref reader);
            }
            else
            {
                SkipValue(ref reader);
            }
        }

        return choice;
    }

    private static MessageDto ReadMessage(ref Utf8JsonReader reader)
    {
        var message = new MessageDto();
        while (Property(ref reader))
        {
            if (reader.ValueTextEquals("role"u8))
            {
                message.Role = String(ref reader);
            }
            else if (reader.ValueTextEquals("content"u8))
            {
                message.Content = String(ref reader);
            }
            else if (reader.ValueTextEquals("refusal"u8))
            {
                message.Refusal = String(ref reader);
            }
            else if (reader.ValueTextEquals("tool_calls"u8))
            {
                message.ToolCalls = List(ref reader, ReadToolCall);
            }
            else
            {
                SkipValue(ref reader);
            }
        }

        return message;
    }

    private static ToolCallDto ReadToolCall(ref Utf8JsonReader reader)
    {
        var call = new ToolCallDto();
        while (Property(ref reader))
        {
            if (reader.ValueTextEquals("index"u8))
            {
                call.Index = NullableInt32(ref reader);
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                call.Id = String(ref reader);
            }
            else if (reader.ValueTextEquals("type"u8))
            {
                call.Type = String(ref reader);
            }
            else if (reader.ValueTextEquals("function"u8))
            {
                call.Function = Object(ref reader, ReadFunction);
            }
            else
            {
                SkipValue(ref reader);
            }
        }

        return call;
    }

    private static FunctionDto ReadFunction(ref Utf8JsonReader reader)
    {
        var function = new FunctionDto();
        while (Property(ref reader))
        {
            if (reader.ValueTextEquals("name"u8))
            {
                function.Name = String(ref reader);
            }
            else if (reader.ValueTextEquals("arguments"u8))
            {
                function.Arguments = String(ref reader);
            }
            else
            {
                SkipValue(ref reader);
            }
        }

        return function;
    }

    private static UsageDto ReadUsage(ref Utf8JsonReader reader)
    {
        var usage = new UsageDto();
        while (Property(ref reader))
        {
            if (reader.ValueTextEquals("prompt_tokens"u8))
            {
                usage.PromptTokens = Int32(ref reader);
            }
            else if (reader.ValueTextEquals("completion_tokens"u8))
            {
                usage.CompletionTokens = Int32(ref reader);
            }
            else if (reader.ValueTextEquals("total_tokens"u8))
            {
                usage.TotalTokens = Int32(ref reader);
            }
            else
            {
                SkipValue(ref reader);
            }
        }

        return usage;
    }

    private static ErrorDto ReadError(ref Utf8JsonReader reader)
    {
        var error = new ErrorDto();
        while (Property(ref reader))
        {
            if (reader.ValueTextEquals("message"u8))
            {
                error.Message = String(ref reader);
            }
            else if (reader.ValueTextEquals("type"u8))
            {
                error.Type = String(ref reader);
            }
            else if (reader.ValueTextEquals("code"u8))
            {
                error.Code = String(ref reader);
            }
            else if (reader.ValueTextEquals("param"u8))
            {
                error.Param = String(ref reader);
            }
            else
            {
                SkipValue(ref reader);
            }
        }

        return error;
    }

    private delegate T ReadOne<T>(ref Utf8JsonReader reader);

    /// <summary>Moves to the next member of the current object: true on its name, false at the object's end.</summary>
    private static bool Property(ref Utf8JsonReader reader)
    {
        Next(ref reader);
        return reader.TokenType switch
        {
            JsonTokenType.PropertyName => true,
            JsonTokenType.EndObject => false,
            _ => throw new JsonException($"Expected a property name, found {reader.TokenType}."),
        };
    }

    /// <summary>After a property name: an object read by <paramref name="read"/>, or null.</summary>
    private static T? Object<T>(ref Utf8JsonReader reader, ReadOne<T> read)
        where T : class
    {
        Next(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartObject);
        return read(ref reader);
    }

    /// <summary>After a property name: an array of objects, or null. A null element is malformed (nothing could use it).</summary>
    private static List<T>? List<T>(ref Utf8JsonReader reader, ReadOne<T> read)
        where T : class
    {
        Next(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        Expect(ref reader, JsonTokenType.StartArray);
        var list = new List<T>(1);
        while (true)
        {
            Next(ref reader);
            switch (reader.TokenType)
            {
                case JsonTokenType.EndArray:
                    return list;
                case JsonTokenType.StartObject:
                    list.Add(read(ref reader));
                    break;
                default:
                    throw new JsonException($"Expected an object in the array, found {reader.TokenType}.");
            }
        }
    }

    private static string? String(ref Utf8JsonReader reader)
    {
        Next(ref reader);
        return reader.TokenType switch
        {
            JsonTokenType.Null => null,
            JsonTokenType.String => reader.GetString(),
            _ => throw new JsonException($"Expected a string, found {reader.TokenType}."),
        };
    }

    /// <summary>A string or null, not materialised.</summary>
    private static void CheckString(ref Utf8JsonReader reader)
    {
        Next(ref reader);
        if (reader.TokenType is not (JsonTokenType.String or JsonTokenType.Null))
        {
            throw new JsonException($"Expected a string, found {reader.TokenType}.");
        }
    }

    private static void CheckInt64(ref Utf8JsonReader reader) => NullableInt64(ref reader);

    private static int Int32(ref Utf8JsonReader reader) =>
        NullableInt32(ref reader) ?? throw new JsonException("Expected a number, found null.");

    private static int? NullableInt32(ref Utf8JsonReader reader)
    {
        Next(ref reader);
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.Number when reader.TryGetInt32(out var number):
                return number;
            case JsonTokenType.String when !reader.ValueIsEscaped && Utf8Parser.TryParse(reader.ValueSpan, out int parsed, out var used) && used == reader.ValueSpan.Length:
                return parsed;
            default:
                throw new JsonException($"Expected a 32-bit integer, found {reader.TokenType}.");
        }
    }

    private static long? NullableInt64(ref Utf8JsonReader reader)
    {
        Next(ref reader);
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.Number when reader.TryGetInt64(out var number):
                return number;
            case JsonTokenType.String when !reader.ValueIsEscaped && Utf8Parser.TryParse(reader.ValueSpan, out long parsed, out var used) && used == reader.ValueSpan.Length:
                return parsed;
            default:
                throw new JsonException($"Expected a 64-bit integer, found {reader.TokenType}.");
        }
    }

    private static void SkipValue(ref Utf8JsonReader reader)
    {
        Next(ref reader);
        reader.Skip();
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (reader.TokenType != type)
        {
            throw new JsonException($"Expected {type}, found {reader.TokenType}.");
        }
    }

    private static void Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new JsonException("The JSON value ended early.");
        }
    }

    /// <summary>Nothing but whitespace may follow the value.</summary>
    private static void End(ref Utf8JsonReader reader)
    {
        if (reader.Read())
        {
            throw new JsonException($"Unexpected {reader.TokenType} after the JSON value.");
        }
    }
}
