using System.Text.Json;
using Worker.Simulator.Generation;
using Worker.Simulator.Json;

namespace Worker.Simulator.Responses;

/// <summary>Per-request values of a Gemini answer.</summary>
internal sealed class GeminiResponseContext(string model, AnswerPlan plan)
{
    public JsonEncodedText Model { get; } = JsonWriterFactory.Encode(model);

    public AnswerPlan Plan { get; } = plan;

    public ReadOnlySpan<byte> FinishReason => Plan.Truncated ? "MAX_TOKENS"u8 : "STOP"u8;

    public void WriteUsageMetadata(Utf8JsonWriter json, int candidateTokens)
    {
        json.WriteStartObject("usageMetadata"u8);
        json.WriteNumber("promptTokenCount"u8, Plan.PromptTokens);
        json.WriteNumber("candidatesTokenCount"u8, candidateTokens);
        json.WriteNumber("totalTokenCount"u8, Plan.PromptTokens + candidateTokens);
        json.WriteEndObject();
    }
}
