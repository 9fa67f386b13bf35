using System.Buffers;
using System.Text.Json;
using Worker.Simulator.Generation;
using Worker.Simulator.Http;

namespace Worker.Simulator.Json;

/// <summary>
/// Reads and validates a chat completion request straight from the request pipe with a
/// <see cref="Utf8JsonReader"/>. Hand-written rather than a source-generated DTO because OpenAI's 400s name the
/// exact parameter and types ("messages[1].role"), and because the prompt is only hashed and word-counted, never
/// turned into strings.
/// </summary>
internal static class ChatCompletionRequestParser
{
    public const int MaxChoices = 128;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    /// <summary>
    /// Every other real chat-completions parameter: accepted and ignored. Anything not here (or read above) is
    /// answered 400 like the real API does, so a typo in a client is not silently ignored.
    /// </summary>
    private static readonly string[] AcceptedParameters =
    [
        "seed", "stop", "logprobs", "top_logprobs", "user", "metadata", "store", "service_tier", "parallel_tool_calls",
        "frequency_penalty", "presence_penalty", "logit_bias", "reasoning_effort", "modalities", "prediction", "audio",
        "web_search_options", "functions", "function_call", "verbosity", "prompt_cache_key", "prompt_cache_retention",
        "safety_identifier",
    ];

    public static ChatCompletionRequest? Parse(ReadOnlySequence<byte> body, out ApiError? error)
    {
        error = null;
        try
        {
            return ParseCore(body);
        }
        catch (RequestValidationException e)
        {
            // Like OpenAI, a body that is not JSON at all is reported as such even if a field error came first.
            error = IsValidJson(body) ? e.Error : ErrorCatalog.InvalidJson;
        }
        catch (JsonException)
        {
            error = ErrorCatalog.InvalidJson;
        }
        catch (InvalidOperationException)
        {
            // Utf8JsonReader throws this for invalid escapes (e.g. lone surrogates) when unescaping strings.
            error = ErrorCatalog.InvalidJson;
        }

        return null;
    }

    private static ChatCompletionRequest ParseCore(ReadOnlySequence<byte> body)
    {
        var reader = new Utf8JsonReader(body, ReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("The request body is not a JSON object.");
        }

        string? model = null;
        bool? stream = null;
        var streamOptionsGiven = false;
        var includeUsage = false;
        int? n = null, maxTokens = null, maxCompletionTokens = null, simTokens = null;
        MessagesSummary? messages = null;
        List<ToolFunction>? tools = null;
        JsonElement? toolChoice = null;
        JsonElement? responseFormat = null;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("model"u8))
            {
                reader.Read();
                model = ReadModel(ref reader);
            }
            else if (reader.ValueTextEquals("messages"u8))
            {
                reader.Read();
                messages = ReadMessages(ref reader);
            }
            else if (reader.ValueTextEquals("stream"u8))
            {
                reader.Read();
                stream = JsonValueRules.ReadBoolean(ref reader, "stream");
            }
            else if (reader.ValueTextEquals("stream_options"u8))
            {
                reader.Read();
                streamOptionsGiven = reader.TokenType != JsonTokenType.Null;
                includeUsage = ReadStreamOptions(ref reader);
            }
            else if (reader.ValueTextEquals("n"u8))
            {
                reader.Read();
                n = JsonValueRules.ReadInteger(ref reader, "n", 1, MaxChoices);
            }
            else if (reader.ValueTextEquals("max_tokens"u8))
            {
                reader.Read();
                maxTokens = JsonValueRules.ReadInteger(ref reader, "max_tokens", 1, int.MaxValue);
            }
            else if (reader.ValueTextEquals("max_completion_tokens"u8))
            {
                reader.Read();
                maxCompletionTokens = JsonValueRules.ReadInteger(ref reader, "max_completion_tokens", 1, int.MaxValue);
            }
            else if (reader.ValueTextEquals("sim_tokens"u8))
            {
                reader.Read();
                simTokens = JsonValueRules.ReadInteger(ref reader, "sim_tokens", 0, SimDirectiveReader.MaxTokens);
            }
            else if (reader.ValueTextEquals("temperature"u8))
            {
                reader.Read();
                JsonValueRules.ReadNumber(ref reader, "temperature", 0, 2);
            }
            else if (reader.ValueTextEquals("top_p"u8))
            {
                reader.Read();
                JsonValueRules.ReadNumber(ref reader, "top_p", 0, 1);
            }
            else if (reader.ValueTextEquals("tools"u8))
            {
                reader.Read();
                tools = ToolRules.ReadTools(JsonElement.ParseValue(ref reader));
            }
            else if (reader.ValueTextEquals("tool_choice"u8))
            {
                reader.Read();
                toolChoice = JsonElement.ParseValue(ref reader);
            }
            else if (reader.ValueTextEquals("response_format"u8))
            {
                reader.Read();
                responseFormat = JsonElement.ParseValue(ref reader);
            }
            else if (IsAcceptedParameter(ref reader))
            {
                reader.Read();
                reader.Skip();
            }
            else
            {
                var name = reader.GetString() ?? string.Empty;
                throw new RequestValidationException(ApiError.InvalidRequest(
                    $"Unrecognized request argument supplied: {name}", name, "unrecognized_request_argument"));
            }
        }

        // Reject trailing content after the object (the reader throws on anything but white space).
        if (reader.Read())
        {
            throw new JsonException("Unexpected content after the request object.");
        }

        if (model is null)
        {
            throw new RequestValidationException(ApiError.InvalidRequest("you must provide a model parameter", "model", "missing_required_parameter"));
        }

        if (messages is not { } summary)
        {
            throw JsonValueRules.Missing("messages");
        }

        if (streamOptionsGiven && stream != true)
        {
            throw new RequestValidationException(ApiError.InvalidRequest(
                "The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options", null));
        }

        var (choiceMode, choiceName) = ToolRules.ReadToolChoice(toolChoice, tools);
        var (formatMode, schema) = ToolRules.ReadResponseFormat(responseFormat);
        string? lastUserText = null;
        if (tools is { Count: > 0 } && choiceMode is ToolChoiceMode.Auto or ToolChoiceMode.Required && summary.LastUserContentStart >= 0)
        {
            lastUserText = ReadContentText(body.Slice(summary.LastUserContentStart));
        }

        return new ChatCompletionRequest
        {
            Tools = tools ?? [],
            ToolChoice = choiceMode,
            ToolChoiceName = choiceName,
            ResponseFormat = formatMode,
            ResponseSchema = schema,
            LastMessageIsToolResult = summary.LastRole == MessageRole.Tool,
            LastUserText = lastUserText,
            Model = model,
            Stream = stream == true,
            IncludeUsage = includeUsage,
            N = n ?? 1,
            MaxTokens = maxCompletionTokens ?? maxTokens,
            SimTokens = simTokens,
            PromptTokens = summary.Words,
            PromptChars = summary.Chars,
            PromptHash = summary.LastUserHash,
        };
    }

    private static string? ReadModel(ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String:
                var model = reader.GetString();
                return string.IsNullOrEmpty(model) ? null : model;
            default:
                throw JsonValueRules.InvalidType(ref reader, "model", "a string");
        }
    }

    private static bool ReadStreamOptions(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return false;
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw JsonValueRules.InvalidType(ref reader, "stream_options", "an object");
        }

        var includeUsage = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("include_usage"u8))
            {
                reader.Read();
                includeUsage = JsonValueRules.ReadBoolean(ref reader, "stream_options.include_usage") == true;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return includeUsage;
    }

    private static MessagesSummary ReadMessages(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw JsonValueRules.InvalidType(ref reader, "messages", "an array of objects");
        }

        var index = 0;
        var words = 0;
        var chars = 0L;
        var lastUserHash = new MessageTextAccumulator().Hash;
        var lastUserContentStart = -1L;
        var lastRole = MessageRole.User;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw JsonValueRules.InvalidType(ref reader, $"messages[{index}]", "an object");
            }

            var (role, text, contentStart) = ReadMessage(ref reader, index);
            words += text.Words;
            chars += text.Chars;
            lastRole = role;
            if (role == MessageRole.User)
            {
                lastUserHash = text.Hash;
                lastUserContentStart = contentStart;
            }

            index++;
        }

        if (index == 0)
        {
            throw new RequestValidationException(ApiError.InvalidRequest(
                "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
                "messages",
                "empty_array"));
        }

        return new MessagesSummary(words, chars, lastUserHash, lastUserContentStart, lastRole);
    }

    private static (MessageRole Role, MessageTextAccumulator Text, long ContentStart) ReadMessage(ref Utf8JsonReader reader, int index)
    {
        MessageRole? role = null;
        var contentStart = -1L;
        var contentSeen = false;
        var contentIsNull = false;
        var text = new MessageTextAccumulator();

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("role"u8))
            {
                reader.Read();
                role = ReadRole(ref reader, index);
            }
            else if (reader.ValueTextEquals("content"u8))
            {
                reader.Read();
                contentSeen = true;
                contentStart = reader.TokenStartIndex;
                switch (reader.TokenType)
                {
                    case JsonTokenType.String:
                        AppendString(ref reader, ref text);
                        break;
                    case JsonTokenType.StartArray:
                        ReadContentParts(ref reader, index, ref text);
                        break;
                    case JsonTokenType.Null:
                        contentIsNull = true;
                        break;
                    default:
                        throw JsonValueRules.InvalidType(ref reader, $"messages[{index}].content", "one of a string or array of objects");
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (role is not { } known)
        {
            throw JsonValueRules.Missing($"messages[{index}].role");
        }

        // Only assistant (with tool calls) and legacy function messages may go without content.
        if (known is not (MessageRole.Assistant or MessageRole.Function))
        {
            if (!contentSeen)
            {
                throw JsonValueRules.Missing($"messages[{index}].content");
            }

            if (contentIsNull)
            {
                throw JsonValueRules.InvalidType($"messages[{index}].content", "one of a string or array of objects", "null");
            }
        }

        return (known, text, contentStart);
    }

    private static MessageRole ReadRole(ref Utf8JsonReader reader, int index)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            throw JsonValueRules.InvalidType(ref reader, $"messages[{index}].role", "a string");
        }

        if (reader.ValueTextEquals("user"u8))
        {
            return MessageRole.User;
        }

        if (reader.ValueTextEquals("assistant"u8))
        {
            return MessageRole.Assistant;
        }

        if (reader.ValueTextEquals("system"u8))
        {
            return MessageRole.System;
        }

        if (reader.ValueTextEquals("developer"u8))
        {
            return MessageRole.Developer;
        }

        if (reader.ValueTextEquals("tool"u8))
        {
            return MessageRole.Tool;
        }

        if (reader.ValueTextEquals("function"u8))
        {
            return MessageRole.Function;
        }

        throw new RequestValidationException(ApiError.InvalidRequest(
            $"Invalid value: '{JsonValueRules.RawText(ref reader)}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.",
            $"messages[{index}].role",
            "invalid_value"));
    }

    /// <summary>
    /// Content as an array of parts: text parts (type text / input_text) are joined with '\n'; other parts (images,
    /// audio) are ignored. A part's "type" may follow its "text", so the part is scanned once for its type and, if it
    /// is text, once more from a saved reader position (Utf8JsonReader is a struct: copying it is a checkpoint).
    /// </summary>
    private static void ReadContentParts(ref Utf8JsonReader reader, int index, ref MessageTextAccumulator text)
    {
        var part = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw JsonValueRules.InvalidType(ref reader, $"messages[{index}].content[{part}]", "an object");
            }

            var checkpoint = reader;
            var typeSeen = false;
            var isText = false;
            var hasText = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw JsonValueRules.InvalidType(ref reader, $"messages[{index}].content[{part}].type", "a string");
                    }

                    typeSeen = true;
                    isText = reader.ValueTextEquals("text"u8) || reader.ValueTextEquals("input_text"u8);
                }
                else if (reader.ValueTextEquals("text"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw JsonValueRules.InvalidType(ref reader, $"messages[{index}].content[{part}].text", "a string");
                    }

                    hasText = true;
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (!typeSeen)
            {
                throw JsonValueRules.Missing($"messages[{index}].content[{part}].type");
            }

            if (isText)
            {
                if (!hasText)
                {
                    throw JsonValueRules.Missing($"messages[{index}].content[{part}].text");
                }

                AppendPartText(checkpoint, ref text);
            }

            part++;
        }
    }

    private static void AppendPartText(Utf8JsonReader part, ref MessageTextAccumulator text)
    {
        while (part.Read() && part.TokenType == JsonTokenType.PropertyName)
        {
            var isText = part.ValueTextEquals("text"u8);
            part.Read();
            if (isText)
            {
                AppendString(ref part, ref text);
                return;
            }

            part.Skip();
        }
    }

    private static void AppendString(ref Utf8JsonReader reader, ref MessageTextAccumulator text)
    {
        if (!reader.HasValueSequence && !reader.ValueIsEscaped)
        {
            text.AppendPart(reader.ValueSpan);
            return;
        }

        var max = reader.HasValueSequence ? checked((int)reader.ValueSequence.Length) : reader.ValueSpan.Length;
        byte[]? rented = null;
        var buffer = max <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var length = reader.CopyString(buffer);
            text.AppendPart(buffer[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static bool IsValidJson(ReadOnlySequence<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body, ReaderOptions);
            while (reader.Read())
            {
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool IsAcceptedParameter(ref Utf8JsonReader reader)
    {
        foreach (var name in AcceptedParameters)
        {
            if (reader.ValueTextEquals(name))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// A message content (string or parts) as text, read again from where it starts in the body: a JSON value on its
    /// own is a complete document, and the reader stops after it.
    /// </summary>
    private static string ReadContentText(ReadOnlySequence<byte> fromContent)
    {
        var reader = new Utf8JsonReader(fromContent, ReaderOptions);
        reader.Read();
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString() ?? string.Empty;
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return string.Empty;
        }

        var parts = new List<string>();
        foreach (var part in JsonElement.ParseValue(ref reader).EnumerateArray())
        {
            if (part.ValueKind == JsonValueKind.Object
                && part.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
                && type.GetString() is "text" or "input_text"
                && part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
            {
                parts.Add(text.GetString()!);
            }
        }

        return AnswerGenerator.JoinParts(parts);
    }

    private readonly record struct MessagesSummary(int Words, long Chars, ulong LastUserHash, long LastUserContentStart, MessageRole LastRole);
}
