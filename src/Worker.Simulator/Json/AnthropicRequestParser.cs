using System.Buffers;
using System.Text.Json;
using Worker.Simulator.Endpoints;
using Worker.Simulator.Generation;
using Worker.Simulator.Http;

namespace Worker.Simulator.Json;

/// <summary>
/// Validates a Messages API body the way Anthropic does (field-path messages such as
/// <c>max_tokens: Field required</c>, unknown fields refused) and extracts what the answer depends on.
/// </summary>
internal static class AnthropicRequestParser
{
    // Every top-level field the Messages API accepts; those without an effect here are only type-checked loosely.
    private static readonly HashSet<string> KnownFields =
    [
        "model", "messages", "max_tokens", "system", "stream", "temperature", "stop_sequences", "tools", "tool_choice",
        "metadata", "top_k", "top_p", "thinking", "service_tier", "container", "mcp_servers",
    ];

    public static (AnthropicCall? Call, ApiError? Error) Parse(ReadOnlySequence<byte> body)
    {
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(body);
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException)
        {
            return Invalid("There was an error parsing the body of your request. Please make sure it is valid JSON.");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Invalid("Input should be a valid dictionary or object to extract fields from");
            }

            foreach (var property in root.EnumerateObject())
            {
                if (!KnownFields.Contains(property.Name))
                {
                    return Invalid($"{property.Name}: Extra inputs are not permitted");
                }
            }

            return Validate(root);
        }
    }

    private static (AnthropicCall?, ApiError?) Validate(JsonElement root)
    {
        if (!root.TryGetProperty("model", out var modelValue))
        {
            return Invalid("model: Field required");
        }

        if (modelValue.ValueKind != JsonValueKind.String || modelValue.GetString() is not { Length: > 0 } model)
        {
            return Invalid("model: Input should be a valid string");
        }

        if (!root.TryGetProperty("max_tokens", out var maxValue))
        {
            return Invalid("max_tokens: Field required");
        }

        if (maxValue.ValueKind != JsonValueKind.Number || !maxValue.TryGetInt32(out var maxTokens))
        {
            return Invalid("max_tokens: Input should be a valid integer");
        }

        if (maxTokens < 1)
        {
            return Invalid("max_tokens: Input should be greater than or equal to 1");
        }

        var stream = false;
        if (root.TryGetProperty("stream", out var streamValue))
        {
            if (streamValue.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return Invalid("stream: Input should be a valid boolean");
            }

            stream = streamValue.GetBoolean();
        }

        if (root.TryGetProperty("temperature", out var temperature)
            && (temperature.ValueKind != JsonValueKind.Number || temperature.GetDouble() is < 0 or > 1))
        {
            return Invalid("temperature: Input should be a number between 0 and 1");
        }

        if (root.TryGetProperty("stop_sequences", out var stops) && !IsStringArray(stops))
        {
            return Invalid("stop_sequences: Input should be a valid list of strings");
        }

        if (root.TryGetProperty("tools", out var tools) && tools.ValueKind != JsonValueKind.Array)
        {
            return Invalid("tools: Input should be a valid list");
        }

        var totals = new PromptTotals();
        if (root.TryGetProperty("system", out var system) && ReadText(system, "system", totals, out _) is { } systemError)
        {
            return Invalid(systemError);
        }

        if (!root.TryGetProperty("messages", out var messages))
        {
            return Invalid("messages: Field required");
        }

        if (messages.ValueKind != JsonValueKind.Array)
        {
            return Invalid("messages: Input should be a valid list");
        }

        if (messages.GetArrayLength() == 0)
        {
            return Invalid("messages: at least one message is required");
        }

        var prompt = string.Empty;
        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var path = $"messages.{index++}";
            if (message.ValueKind != JsonValueKind.Object)
            {
                return Invalid($"{path}: Input should be a valid dictionary");
            }

            var role = message.TryGetProperty("role", out var roleValue) && roleValue.ValueKind == JsonValueKind.String ? roleValue.GetString() : null;
            if (role is not ("user" or "assistant"))
            {
                return Invalid($"{path}.role: Input should be 'user' or 'assistant'");
            }

            if (!message.TryGetProperty("content", out var content))
            {
                return Invalid($"{path}.content: Field required");
            }

            if (ReadText(content, $"{path}.content", totals, out var text) is { } contentError)
            {
                return Invalid(contentError);
            }

            if (role == "user")
            {
                prompt = text;
            }
        }

        return (new AnthropicCall(model, stream, prompt, totals.Words, maxTokens, totals.Chars), null);
    }

    /// <summary>A string, or an array of blocks whose <c>text</c> blocks count (joined with '\n'); other block types are accepted and ignored.</summary>
    private static string? ReadText(JsonElement value, string path, PromptTotals totals, out string text)
    {
        text = string.Empty;
        if (value.ValueKind == JsonValueKind.String)
        {
            text = value.GetString()!;
            totals.Add(text);
            return null;
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            return $"{path}: Input should be a valid string or a list of content blocks";
        }

        var parts = new List<string>();
        var index = 0;
        foreach (var block in value.EnumerateArray())
        {
            var blockPath = $"{path}.{index++}";
            if (block.ValueKind != JsonValueKind.Object
                || !block.TryGetProperty("type", out var type)
                || type.ValueKind != JsonValueKind.String)
            {
                return $"{blockPath}.type: Field required";
            }

            if (type.ValueEquals("text"u8))
            {
                if (!block.TryGetProperty("text", out var blockText) || blockText.ValueKind != JsonValueKind.String)
                {
                    return $"{blockPath}.text: Field required";
                }

                var part = blockText.GetString()!;
                parts.Add(part);
                totals.Add(part);
            }
        }

        text = AnswerGenerator.JoinParts(parts);
        return null;
    }

    private static bool IsStringArray(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            return false;
        }

        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                return false;
            }
        }

        return true;
    }

    private static (AnthropicCall?, ApiError?) Invalid(string message) => (null, ApiError.InvalidRequest(message, null, null));

    /// <summary>Running totals of the prompt's words (usage) and characters (rate limit estimate).</summary>
    private sealed class PromptTotals
    {
        public int Words { get; private set; }

        public long Chars { get; private set; }

        public void Add(string text)
        {
            Words += AnswerGenerator.CountWords(text);
            Chars += TextRules.CountChars(text);
        }
    }
}
