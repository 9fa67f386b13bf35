using System.Buffers;
using System.Text.Json;
using Worker.Connector.OpenAi;

namespace Worker.Connector.Gemini;

/// <summary>
/// Maps our chat request onto a GenerateContentRequest: system messages become <c>systemInstruction</c>, the rest
/// <c>contents</c> with roles user / model; max tokens, temperature, OpenAI's <c>stop</c> and <c>top_p</c> go into
/// <c>generationConfig</c>; Gemini's own <c>safetySettings</c>, <c>tools</c> and <c>toolConfig</c> pass through.
/// </summary>
public static class GeminiRequestWriter
{
    private static readonly HashSet<string> PassedThrough = ["safetySettings", "tools", "toolConfig", "cachedContent"];

    public static byte[] Write(ChatCompletionRequest request, int? defaultMaxTokens)
    {
        ArgumentNullException.ThrowIfNull(request);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("contents");
            foreach (var message in request.Messages)
            {
                if (message.Role == "system")
                {
                    continue;
                }

                json.WriteStartObject();
                json.WriteString("role", message.Role == "assistant" ? "model" : "user");
                WriteParts(json, message.Content);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            var system = request.Messages.Where(m => m.Role == "system" && !string.IsNullOrEmpty(m.Content)).ToList();
            if (system.Count > 0)
            {
                json.WriteStartObject("systemInstruction");
                json.WriteStartArray("parts");
                foreach (var message in system)
                {
                    json.WriteStartObject();
                    json.WriteString("text", message.Content);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            WriteGenerationConfig(json, request, defaultMaxTokens);
            if (request.ExtraParameters is not null)
            {
                foreach (var (name, value) in request.ExtraParameters)
                {
                    if (PassedThrough.Contains(name))
                    {
                        json.WritePropertyName(name);
                        value.WriteTo(json);
                    }
                }
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteParts(Utf8JsonWriter json, string? text)
    {
        json.WriteStartArray("parts");
        json.WriteStartObject();
        json.WriteString("text", text ?? string.Empty);
        json.WriteEndObject();
        json.WriteEndArray();
    }

    private static void WriteGenerationConfig(Utf8JsonWriter json, ChatCompletionRequest request, int? defaultMaxTokens)
    {
        var maxTokens = request.MaxTokens ?? defaultMaxTokens;
        JsonElement stop = default;
        JsonElement topP = default;
        var hasStop = request.ExtraParameters?.TryGetValue("stop", out stop) == true && stop.ValueKind is JsonValueKind.String or JsonValueKind.Array;
        var hasTopP = request.ExtraParameters?.TryGetValue("top_p", out topP) == true && topP.ValueKind == JsonValueKind.Number;
        if (maxTokens is null && request.Temperature is null && !hasStop && !hasTopP)
        {
            return;
        }

        json.WriteStartObject("generationConfig");
        if (maxTokens is { } max)
        {
            json.WriteNumber("maxOutputTokens", max);
        }

        if (request.Temperature is { } temperature)
        {
            json.WriteNumber("temperature", temperature);
        }

        if (hasTopP)
        {
            json.WritePropertyName("topP");
            topP.WriteTo(json);
        }

        if (hasStop)
        {
            json.WriteStartArray("stopSequences");
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

        json.WriteEndObject();
    }
}
