using System.Buffers;
using Worker.Simulator.Generation;
using Worker.Simulator.Http;
using Worker.Simulator.Streaming;

namespace Worker.Simulator.Responses;

/// <summary>
/// Gemini <c>streamGenerateContent</c>: one GenerateContentResponse per token, then a last one with an empty text
/// part carrying finishReason and the full usageMetadata. SSE with <c>alt=sse</c>, otherwise one JSON array.
/// </summary>
internal sealed class GeminiChunkFormatter(IBufferWriter<byte> output, GeminiResponseContext context, StreamFraming framing)
    : TokenStreamFormatter(output, framing)
{
    private readonly StreamFraming _framing = framing;

    public override void WriteStart()
    {
        // Gemini has no preamble event.
    }

    public override void WriteStep(int step)
    {
        Span<byte> token = stackalloc byte[TokenFormatter.MaxTokenBytes];
        var length = context.Plan.FormatToken(0, step, token);
        WriteChunk(token[..length], finishReason: default, candidateTokens: step + 1);
    }

    public override void WriteFinish()
    {
        WriteChunk(""u8, context.FinishReason, context.Plan.Tokens);
        if (_framing == StreamFraming.JsonArray)
        {
            CloseArray();
        }
    }

    public override void WriteErrorEvent()
    {
        var json = BeginEvent();
        ErrorJson.Write(json, ErrorCatalog.ServerError(ErrorDialect.Google), ErrorDialect.Google);
        EndEvent();
    }

    private void WriteChunk(ReadOnlySpan<byte> text, ReadOnlySpan<byte> finishReason, int candidateTokens)
    {
        var json = BeginEvent();
        json.WriteStartObject();
        json.WriteStartArray("candidates"u8);
        json.WriteStartObject();
        json.WriteStartObject("content"u8);
        json.WriteStartArray("parts"u8);
        json.WriteStartObject();
        json.WriteString("text"u8, text);
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteString("role"u8, "model"u8);
        json.WriteEndObject();
        if (!finishReason.IsEmpty)
        {
            json.WriteString("finishReason"u8, finishReason);
        }

        json.WriteNumber("index"u8, 0);
        json.WriteEndObject();
        json.WriteEndArray();
        context.WriteUsageMetadata(json, candidateTokens);
        json.WriteString("modelVersion"u8, context.Model);
        json.WriteEndObject();
        EndEvent();
    }
}
