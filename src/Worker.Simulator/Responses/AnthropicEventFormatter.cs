using System.Buffers;
using Worker.Simulator.Generation;
using Worker.Simulator.Http;
using Worker.Simulator.Streaming;

namespace Worker.Simulator.Responses;

/// <summary>
/// Anthropic's named SSE events: <c>message_start</c> (empty content, input usage), <c>content_block_start</c>,
/// <c>ping</c>, one <c>content_block_delta</c> (<c>text_delta</c>) per token, <c>content_block_stop</c>,
/// <c>message_delta</c> (stop_reason, output usage), <c>message_stop</c>. No <c>[DONE]</c>.
/// </summary>
internal sealed class AnthropicEventFormatter(IBufferWriter<byte> output, AnthropicResponseContext context)
    : TokenStreamFormatter(output, StreamFraming.ServerSentEvents)
{
    public override void WriteStart()
    {
        var json = BeginEvent("message_start"u8);
        json.WriteStartObject();
        json.WriteString("type"u8, "message_start"u8);
        json.WriteStartObject("message"u8);
        context.WriteMessageHead(json);
        json.WriteStartArray("content"u8);
        json.WriteEndArray();
        json.WriteNull("stop_reason"u8);
        json.WriteNull("stop_sequence"u8);
        json.WriteStartObject("usage"u8);
        json.WriteNumber("input_tokens"u8, context.Plan.PromptTokens);
        json.WriteNumber("output_tokens"u8, 0);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndObject();
        EndEvent();

        json = BeginEvent("content_block_start"u8);
        json.WriteStartObject();
        json.WriteString("type"u8, "content_block_start"u8);
        json.WriteNumber("index"u8, 0);
        json.WriteStartObject("content_block"u8);
        json.WriteString("type"u8, "text"u8);
        json.WriteString("text"u8, ""u8);
        json.WriteEndObject();
        json.WriteEndObject();
        EndEvent();

        WriteTypeOnly("ping"u8);
    }

    public override void WriteStep(int step)
    {
        Span<byte> token = stackalloc byte[TokenFormatter.MaxTokenBytes];
        var length = context.Plan.FormatToken(0, step, token);
        var json = BeginEvent("content_block_delta"u8);
        json.WriteStartObject();
        json.WriteString("type"u8, "content_block_delta"u8);
        json.WriteNumber("index"u8, 0);
        json.WriteStartObject("delta"u8);
        json.WriteString("type"u8, "text_delta"u8);
        json.WriteString("text"u8, token[..length]);
        json.WriteEndObject();
        json.WriteEndObject();
        EndEvent();
    }

    public override void WriteFinish()
    {
        var json = BeginEvent("content_block_stop"u8);
        json.WriteStartObject();
        json.WriteString("type"u8, "content_block_stop"u8);
        json.WriteNumber("index"u8, 0);
        json.WriteEndObject();
        EndEvent();

        json = BeginEvent("message_delta"u8);
        json.WriteStartObject();
        json.WriteString("type"u8, "message_delta"u8);
        json.WriteStartObject("delta"u8);
        json.WriteString("stop_reason"u8, context.StopReason);
        json.WriteNull("stop_sequence"u8);
        json.WriteEndObject();
        json.WriteStartObject("usage"u8);
        json.WriteNumber("output_tokens"u8, context.Plan.Tokens);
        json.WriteEndObject();
        json.WriteEndObject();
        EndEvent();

        WriteTypeOnly("message_stop"u8);
    }

    /// <summary>Anthropic's mid-stream failure: <c>event: error</c> with an <c>overloaded_error</c>.</summary>
    public override void WriteErrorEvent()
    {
        var json = BeginEvent("error"u8);
        ErrorJson.Write(json, ErrorCatalog.AnthropicOverloaded, ErrorDialect.Anthropic);
        EndEvent();
    }

    /// <summary>A delta event whose data is cut off mid-JSON.</summary>
    public override void WriteMalformedEvent()
    {
        WriteEventName("content_block_delta"u8);
        BeginRawEvent();
        WriteRaw("{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"trunc"u8);
        EndRawEvent();
    }

    private void WriteTypeOnly(ReadOnlySpan<byte> type)
    {
        var json = BeginEvent(type);
        json.WriteStartObject();
        json.WriteString("type"u8, type);
        json.WriteEndObject();
        EndEvent();
    }
}
