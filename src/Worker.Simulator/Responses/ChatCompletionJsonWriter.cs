using System.Buffers;
using Worker.Simulator.Json;

namespace Worker.Simulator.Responses;

/// <summary>
/// A non-streaming <c>chat.completion</c> object; contents are written token by token (see <see cref="TokenText"/>).
/// </summary>
internal static class ChatCompletionJsonWriter
{
    public static long Write(IBufferWriter<byte> output, OpenAiResponseContext context)
    {
        using var json = JsonWriterFactory.Create(output);
        var plan = context.Plan;
        json.WriteStartObject();
        json.WriteString("id"u8, context.Id);
        json.WriteString("object"u8, "chat.completion"u8);
        json.WriteNumber("created"u8, context.Created);
        json.WriteString("model"u8, context.Model);
        json.WriteStartArray("choices"u8);

        for (var choice = 0; choice < plan.Choices; choice++)
        {
            json.WriteStartObject();
            json.WriteNumber("index"u8, choice);
            json.WriteStartObject("message"u8);
            json.WriteString("role"u8, "assistant"u8);
            json.WritePropertyName("content"u8);
            var structured = context.Structured;
            if (structured is null)
            {
                TokenText.WriteValue(json, plan, choice);
            }
            else if (structured.IsToolCall)
            {
                json.WriteNullValue();
            }
            else
            {
                json.WriteStringValue(structured.Text(choice, plan.Tokens));
            }

            json.WriteNull("refusal"u8);
            if (structured is { IsToolCall: true })
            {
                context.WriteToolCall(json, choice, structured.Text(choice, plan.Tokens), withIndex: false);
            }

            json.WriteStartArray("annotations"u8);
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteNull("logprobs"u8);
            json.WriteString("finish_reason"u8, context.FinishReason());
            json.WriteEndObject();
        }

        json.WriteEndArray();
        context.WriteUsage(json);
        json.WriteString("service_tier"u8, "default"u8);
        json.WriteString("system_fingerprint"u8, OpenAiResponseContext.SystemFingerprint);
        json.WriteEndObject();
        json.Flush();
        return json.BytesCommitted;
    }
}
