using System.Buffers;
using Worker.Simulator.Generation;
using Worker.Simulator.Http;
using Worker.Simulator.Json;
using Worker.Simulator.Responses;
using Worker.Simulator.Streaming;

namespace Worker.Simulator.Endpoints;

/// <summary><c>POST /v1/chat/completions</c>, OpenAI-compatible, streaming and not.</summary>
internal sealed class ChatCompletionsEndpoint(GenerationGate gate, CompletionIdGenerator ids, TimeProvider time)
    : GenerationEndpoint<ChatCompletionRequest>(gate)
{
    protected override ErrorDialect Dialect => ErrorDialect.OpenAi;

    protected override async ValueTask<(ChatCompletionRequest? Request, ApiError? Error)> ReadRequestAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var reader = context.Request.BodyReader;
        var body = await RequestBody.ReadToEndAsync(reader, cancellationToken);
        try
        {
            var request = ChatCompletionRequestParser.Parse(body.Buffer, out var error);
            return (request, error);
        }
        finally
        {
            reader.AdvanceTo(body.Buffer.End);
        }
    }

    protected override bool IsStreaming(HttpContext context, ChatCompletionRequest request) => request.Stream;

    protected override AnswerPlan CreatePlan(ChatCompletionRequest request, in SimDirectives directives) => AnswerPlan.Create(
        StableHash.Fnv1aUtf8(request.Model),
        request.PromptHash,
        request.N,
        directives.Tokens ?? request.SimTokens,
        request.MaxTokens,
        request.PromptTokens);

    protected override StreamFraming Framing(HttpContext context, ChatCompletionRequest request) => StreamFraming.ServerSentEvents;

    protected override TokenStreamFormatter CreateFormatter(IBufferWriter<byte> output, HttpContext context, ChatCompletionRequest request, AnswerPlan plan) =>
        new ChatCompletionChunkFormatter(output, ResponseContext(request, plan), request.IncludeUsage);

    protected override long WriteAnswer(HttpContext context, ChatCompletionRequest request, AnswerPlan plan) =>
        ChatCompletionJsonWriter.Write(context.Response.BodyWriter, ResponseContext(request, plan));

    private OpenAiResponseContext ResponseContext(ChatCompletionRequest request, AnswerPlan plan) =>
        new(ids.Next(), time.GetUtcNow().ToUnixTimeSeconds(), request.Model, plan);
}
