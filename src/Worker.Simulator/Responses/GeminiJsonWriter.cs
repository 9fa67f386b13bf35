using System.Buffers;
using Worker.Simulator.Json;

namespace Worker.Simulator.Responses;

/// <summary>A non-streaming Gemini GenerateContentResponse.</summary>
internal static class GeminiJsonWriter
{
    public static long Write(IBufferWriter<byte> output, GeminiResponseContext context)
    {
        using var json = JsonWriterFactory.Create(output);
        var plan = context.Plan;
        json.WriteStartObject();
        json.WriteStartArray("candidates"u8);
        json.WriteStartObject();
        json.WriteStartObject("content"u8);
        json.WriteStartArray("parts"u8);
        json.WriteStartObject();
        json.WritePropertyName("text"u8);
        TokenText.WriteValue(json, plan, choice: 0);
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteString("role"u8, "model"u8);
        json.WriteEndObject();
        json.WriteString("finishReason"u8, context.FinishReason);
        json.WriteNumber("index"u8, 0);
        json.WriteEndObject();
        json.WriteEndArray();
        context.WriteUsageMetadata(json, plan.Tokens);
        json.WriteString("modelVersion"u8, context.Model);
        json.WriteEndObject();
        json.Flush();
        return json.BytesCommitted;
    }
}
