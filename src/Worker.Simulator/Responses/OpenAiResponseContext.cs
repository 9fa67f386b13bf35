using System.Text.Json;
using Worker.Simulator.Generation;
using Worker.Simulator.Json;

namespace Worker.Simulator.Responses;

/// <summary>The per-request values every OpenAI-shaped answer repeats (id, created, model, usage).</summary>
internal sealed class OpenAiResponseContext(byte[] id, long created, string model, AnswerPlan plan, StructuredAnswer? structured = null)
{
    /// <summary>OpenAI's system_fingerprint; fixed because the simulated "backend" never changes.</summary>
    public static ReadOnlySpan<byte> SystemFingerprint => "fp_simulator"u8;

    public ReadOnlySpan<byte> Id => id;

    public long Created { get; } = created;

    public JsonEncodedText Model { get; } = JsonWriterFactory.Encode(model);

    public AnswerPlan Plan { get; } = plan;

    /// <summary>Tool calls or JSON content instead of generated text; null for a plain answer.</summary>
    public StructuredAnswer? Structured { get; } = structured;

    public static ReadOnlySpan<byte> FinishReason(bool truncated) => truncated ? "length"u8 : "stop"u8;

    /// <summary>This answer's finish reason: <c>tool_calls</c> for a complete tool call, else stop/length.</summary>
    public ReadOnlySpan<byte> FinishReason() =>
        Structured is { IsToolCall: true } && !Plan.Truncated ? "tool_calls"u8 : FinishReason(Plan.Truncated);

    /// <summary><c>"tool_calls": [{index?, id, type, function: {name, arguments}}]</c> of one choice.</summary>
    public void WriteToolCall(Utf8JsonWriter json, int choice, string arguments, bool withIndex)
    {
        var structured = Structured!;
        json.WriteStartArray("tool_calls"u8);
        json.WriteStartObject();
        if (withIndex)
        {
            json.WriteNumber("index"u8, 0);
        }

        json.WriteString("id"u8, structured.CallIds[choice]);
        json.WriteString("type"u8, "function"u8);
        json.WriteStartObject("function"u8);
        json.WriteString("name"u8, structured.FunctionName);
        json.WriteString("arguments"u8, arguments);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndArray();
    }

    /// <summary><c>"usage": {prompt_tokens, completion_tokens, total_tokens, ...details}</c>.</summary>
    public void WriteUsage(Utf8JsonWriter json)
    {
        json.WriteStartObject("usage"u8);
        json.WriteNumber("prompt_tokens"u8, Plan.PromptTokens);
        json.WriteNumber("completion_tokens"u8, Plan.CompletionTokens);
        json.WriteNumber("total_tokens"u8, Plan.TotalTokens);
        json.WriteStartObject("prompt_tokens_details"u8);
        json.WriteNumber("cached_tokens"u8, 0);
        json.WriteNumber("audio_tokens"u8, 0);
        json.WriteEndObject();
        json.WriteStartObject("completion_tokens_details"u8);
        json.WriteNumber("reasoning_tokens"u8, 0);
        json.WriteNumber("audio_tokens"u8, 0);
        json.WriteNumber("accepted_prediction_tokens"u8, 0);
        json.WriteNumber("rejected_prediction_tokens"u8, 0);
        json.WriteEndObject();
        json.WriteEndObject();
    }
}
