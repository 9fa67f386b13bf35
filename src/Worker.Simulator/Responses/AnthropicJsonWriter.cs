using System.Buffers;
using Worker.Simulator.Json;

namespace Worker.Simulator.Responses;

/// <summary>A non-streaming Anthropic Messages answer: one text block, stop_reason and usage.</summary>
internal static class AnthropicJsonWriter
{
    public static long Write(IBufferWriter<byte> output, AnthropicResponseContext context)
    {
        using var json = JsonWriterFactory.Create(output);
        var plan = context.Plan;
        json.WriteStartObject();
        context.WriteMessageHead(json);
        json.WriteStartArray("content"u8);
        json.WriteStartObject();
        json.WriteString("type"u8, "text"u8);
        json.WritePropertyName("text"u8);
        TokenText.WriteValue(json, plan, choice: 0);
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteString("stop_reason"u8, context.StopReason);
        json.WriteNull("stop_sequence"u8);
        json.WriteStartObject("usage"u8);
        json.WriteNumber("input_tokens"u8, plan.PromptTokens);
        json.WriteNumber("output_tokens"u8, plan.Tokens);
        json.WriteEndObject();
        json.WriteEndObject();
        json.Flush();
        return json.BytesCommitted;
    }
}
