using System.Buffers;
using Worker.Simulator.Generation;
using Worker.Simulator.Http;
using Worker.Simulator.Streaming;

namespace Worker.Simulator.Responses;

/// <summary><c>POST /generate</c> streaming: <c>data: {"token":"..."}</c> per token, then <c>data: [DONE]</c>.</summary>
internal sealed class GenerateTokenFormatter(IBufferWriter<byte> output, AnswerPlan plan)
    : TokenStreamFormatter(output, StreamFraming.ServerSentEvents)
{
    public override void WriteStart()
    {
        // No preamble event.
    }

    public override void WriteStep(int step)
    {
        Span<byte> token = stackalloc byte[TokenFormatter.MaxTokenBytes];
        var length = plan.FormatToken(0, step, token);
        var json = BeginEvent();
        json.WriteStartObject();
        json.WriteString("token"u8, token[..length]);
        json.WriteEndObject();
        EndEvent();
    }

    public override void WriteFinish() => WriteDoneEvent();

    public override void WriteErrorEvent()
    {
        var json = BeginEvent();
        ErrorJson.Write(json, ErrorCatalog.ServerError(ErrorDialect.OpenAi), ErrorDialect.OpenAi);
        EndEvent();
    }
}
