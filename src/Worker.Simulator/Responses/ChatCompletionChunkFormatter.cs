using System.Buffers;
using System.Text.Json;
using Worker.Simulator.Generation;
using Worker.Simulator.Http;
using Worker.Simulator.Streaming;

namespace Worker.Simulator.Responses;

/// <summary>
/// OpenAI's streamed <c>chat.completion.chunk</c> events: a role chunk per choice, one content chunk per token and
/// choice, a finish chunk per choice with an empty delta, the usage chunk (include_usage) and <c>[DONE]</c>.
/// </summary>
internal sealed class ChatCompletionChunkFormatter(IBufferWriter<byte> output, OpenAiResponseContext context, bool includeUsage)
    : TokenStreamFormatter(output, StreamFraming.ServerSentEvents)
{
    public override void WriteStart()
    {
        for (var choice = 0; choice < context.Plan.Choices; choice++)
        {
            var json = BeginChunk();
            json.WriteStartObject();
            json.WriteNumber("index"u8, choice);
            json.WriteStartObject("delta"u8);
            json.WriteString("role"u8, "assistant"u8);
            if (context.Structured is { IsToolCall: true })
            {
                // OpenAI's first tool-call chunk: id, type and name, with empty arguments that later chunks extend.
                json.WriteNull("content"u8);
                context.WriteToolCall(json, choice, string.Empty, withIndex: true);
            }
            else
            {
                json.WriteString("content"u8, ""u8);
            }

            json.WriteNull("refusal"u8);
            json.WriteEndObject();
            EndChoice(json, finishReason: default);
            EndChunk(json);
        }
    }

    public override void WriteStep(int step)
    {
        if (context.Structured is { } structured)
        {
            WriteStructuredStep(structured, step);
            return;
        }

        Span<byte> token = stackalloc byte[TokenFormatter.MaxTokenBytes];
        for (var choice = 0; choice < context.Plan.Choices; choice++)
        {
            var length = context.Plan.FormatToken(choice, step, token);
            var json = BeginChunk();
            json.WriteStartObject();
            json.WriteNumber("index"u8, choice);
            json.WriteStartObject("delta"u8);
            json.WriteString("content"u8, token[..length]);
            json.WriteEndObject();
            EndChoice(json, finishReason: default);
            EndChunk(json);
        }
    }

    public override void WriteFinish()
    {
        for (var choice = 0; choice < context.Plan.Choices; choice++)
        {
            var json = BeginChunk();
            json.WriteStartObject();
            json.WriteNumber("index"u8, choice);
            json.WriteStartObject("delta"u8);
            json.WriteEndObject();
            EndChoice(json, context.FinishReason());
            EndChunk(json);
        }

        if (includeUsage)
        {
            var json = BeginChunk();
            json.WriteEndArray();
            context.WriteUsage(json);
            json.WriteEndObject();
            EndEvent();
        }

        WriteDoneEvent();
    }

    public override void WriteErrorEvent()
    {
        var json = BeginEvent();
        ErrorJson.Write(json, ErrorCatalog.ServerError(ErrorDialect.OpenAi), ErrorDialect.OpenAi);
        EndEvent();
    }

    /// <summary>One piece of each choice's tool-call arguments (<c>delta.tool_calls[0].function.arguments</c>) or JSON content.</summary>
    private void WriteStructuredStep(StructuredAnswer structured, int step)
    {
        for (var choice = 0; choice < context.Plan.Choices; choice++)
        {
            var piece = structured.Piece(choice, step);
            var json = BeginChunk();
            json.WriteStartObject();
            json.WriteNumber("index"u8, choice);
            json.WriteStartObject("delta"u8);
            if (structured.IsToolCall)
            {
                json.WriteStartArray("tool_calls"u8);
                json.WriteStartObject();
                json.WriteNumber("index"u8, 0);
                json.WriteStartObject("function"u8);
                json.WriteString("arguments"u8, piece);
                json.WriteEndObject();
                json.WriteEndObject();
                json.WriteEndArray();
            }
            else
            {
                json.WriteString("content"u8, piece);
            }

            json.WriteEndObject();
            EndChoice(json, finishReason: default);
            EndChunk(json);
        }
    }

    /// <summary>Opens a chunk up to and including the choices array.</summary>
    private Utf8JsonWriter BeginChunk()
    {
        var json = BeginEvent();
        json.WriteStartObject();
        json.WriteString("id"u8, context.Id);
        json.WriteString("object"u8, "chat.completion.chunk"u8);
        json.WriteNumber("created"u8, context.Created);
        json.WriteString("model"u8, context.Model);
        json.WriteString("system_fingerprint"u8, OpenAiResponseContext.SystemFingerprint);
        json.WriteStartArray("choices"u8);
        return json;
    }

    private static void EndChoice(Utf8JsonWriter json, ReadOnlySpan<byte> finishReason)
    {
        json.WriteNull("logprobs"u8);
        if (finishReason.IsEmpty)
        {
            json.WriteNull("finish_reason"u8);
        }
        else
        {
            json.WriteString("finish_reason"u8, finishReason);
        }

        json.WriteEndObject();
    }

    /// <summary>Closes the choices array; with include_usage every chunk but the last carries "usage": null.</summary>
    private void EndChunk(Utf8JsonWriter json)
    {
        json.WriteEndArray();
        if (includeUsage)
        {
            json.WriteNull("usage"u8);
        }

        json.WriteEndObject();
        EndEvent();
    }
}
