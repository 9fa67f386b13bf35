using System.Buffers;
using System.Text;
using System.Text.Json;
using Worker.Connector.OpenAi;

namespace Worker.Connector.Anthropic;

/// <summary>
/// Maps our chat request onto a Messages API body: system messages become the top-level <c>system</c> (joined with a
/// blank line), the rest keep their order as user/assistant turns, <c>max_tokens</c> is always sent (the API requires
/// it), OpenAI's <c>stop</c> becomes <c>stop_sequences</c>, and only extra parameters the Messages API knows are
/// passed on (an OpenAI-only one such as <c>response_format</c> would be refused with a 400).
/// </summary>
public static class AnthropicRequestWriter
{
    private static readonly HashSet<string> PassedThrough = ["top_p", "top_k", "tools", "tool_choice", "metadata", "stop_sequences", "thinking", "service_tier"];

    public static byte[] Write(ChatCompletionRequest request, string model, int defaultMaxTokens)
    {
        ArgumentNullException.ThrowIfNull(request);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model", model);
            json.WriteNumber("max_tokens", request.MaxTokens ?? defaultMaxTokens);
            if (SystemPrompt(request.Messages) is { } system)
            {
                json.WriteString("system", system);
            }

            json.WriteStartArray("messages");
            foreach (var message in request.Messages)
            {
                if (message.Role == "system")
                {
                    continue;
                }

                json.WriteStartObject();
                json.WriteString("role", message.Role == "assistant" ? "assistant" : "user");
                json.WriteString("content", message.Content ?? string.Empty);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            if (request.Temperature is { } temperature)
            {
                json.WriteNumber("temperature", temperature);
            }

            if (request.Stream)
            {
                json.WriteBoolean("stream", true);
            }

            WriteExtraParameters(json, request.ExtraParameters);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static string? SystemPrompt(IReadOnlyList<ChatMessage> messages)
    {
        StringBuilder? system = null;
        foreach (var message in messages)
        {
            if (message.Role == "system" && !string.IsNullOrEmpty(message.Content))
            {
                system = system is null ? new StringBuilder(message.Content) : system.Append("\n\n").Append(message.Content);
            }
        }

        return system?.ToString();
    }

    private static void WriteExtraParameters(Utf8JsonWriter json, IReadOnlyDictionary<string, JsonElement>? extra)
    {
        if (extra is null)
        {
            return;
        }

        // OpenAI's "stop" (a string or a list) is Anthropic's stop_sequences (always a list); an explicit stop_sequences wins.
        if (!extra.ContainsKey("stop_sequences") && extra.TryGetValue("stop", out var stop) && stop.ValueKind is JsonValueKind.String or JsonValueKind.Array)
        {
            json.WriteStartArray("stop_sequences");
            if (stop.ValueKind == JsonValueKind.String)
            {
                json.WriteStringValue(stop.GetString());
            }
            else
            {
                foreach (var item in stop.EnumerateArray())
                {
                    item.WriteTo(json);
                }
            }

            json.WriteEndArray();
        }

        foreach (var (name, value) in extra)
        {
            if (PassedThrough.Contains(name))
            {
                json.WritePropertyName(name);
                value.WriteTo(json);
            }
        }
    }
}
