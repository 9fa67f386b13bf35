using System.Buffers;
using Worker.Simulator.Generation;
using Worker.Simulator.Json;

namespace Worker.Simulator.Responses;

/// <summary><c>POST /generate</c> non-streaming: <c>{"text", "model", "finish_reason", "usage"}</c>.</summary>
internal static class GenerateJsonWriter
{
    public static long Write(IBufferWriter<byte> output, string model, AnswerPlan plan)
    {
        using var json = JsonWriterFactory.Create(output);
        json.WriteStartObject();
        json.WritePropertyName("text"u8);
        TokenText.WriteValue(json, plan, choice: 0);
        json.WriteString("model"u8, JsonWriterFactory.Encode(model));
        json.WriteString("finish_reason"u8, OpenAiResponseContext.FinishReason(plan.Truncated));
        json.WriteStartObject("usage"u8);
        json.WriteNumber("prompt_tokens"u8, plan.PromptTokens);
        json.WriteNumber("completion_tokens"u8, plan.CompletionTokens);
        json.WriteNumber("total_tokens"u8, plan.TotalTokens);
        json.WriteEndObject();
        json.WriteEndObject();
        json.Flush();
        return json.BytesCommitted;
    }
}
