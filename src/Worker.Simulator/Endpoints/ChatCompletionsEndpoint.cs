using System.Buffers;
using Worker.Simulator.Generation;
using Worker.Simulator.Http;
using Worker.Simulator.Json;
using Worker.Simulator.Limits;
using Worker.Simulator.Options;
using Worker.Simulator.Responses;
using Worker.Simulator.Streaming;

namespace Worker.Simulator.Endpoints;

/// <summary><c>POST /v1/chat/completions</c>, OpenAI-compatible, streaming and not.</summary>
internal sealed class ChatCompletionsEndpoint(GenerationGate gate, CompletionIdGenerator ids, TimeProvider time, KnownModels models)
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

            // Like the real API: the request is validated first, then the model looked up (404 model_not_found).
            if (request is not null && !models.Contains(request.Model))
            {
                return (null, ErrorCatalog.ModelNotFound(request.Model));
            }

            return (request, error);
        }
        finally
        {
            reader.AdvanceTo(body.Buffer.End);
        }
    }

    protected override bool IsStreaming(HttpContext context, ChatCompletionRequest request) => request.Stream;

    protected override AnswerPlan CreatePlan(ChatCompletionRequest request, in SimDirectives directives)
    {
        var modelHash = StableHash.Fnv1aUtf8(request.Model);
        var requested = directives.Tokens ?? request.SimTokens;

        // Tool calls and JSON answers have the length of their JSON; the requested length only sizes json_object's text.
        request.Structured = StructuredAnswer.Create(request, AnswerSeed.Base(modelHash, request.PromptHash), requested);
        return AnswerPlan.Create(
            modelHash,
            request.PromptHash,
            request.N,
            request.Structured?.Pieces ?? requested,
            request.MaxTokens,
            request.PromptTokens);
    }

    protected override RequestCharge Charge(ChatCompletionRequest request) =>
        new(request.Model, request.PromptChars, request.MaxTokens, request.N);

    protected override StreamFraming Framing(HttpContext context, ChatCompletionRequest request) => StreamFraming.ServerSentEvents;

    protected override TokenStreamFormatter CreateFormatter(IBufferWriter<byte> output, HttpContext context, ChatCompletionRequest request, AnswerPlan plan) =>
        new ChatCompletionChunkFormatter(output, ResponseContext(request, plan), request.IncludeUsage);

    protected override long WriteAnswer(HttpContext context, ChatCompletionRequest request, AnswerPlan plan) =>
        ChatCompletionJsonWriter.Write(context.Response.BodyWriter, ResponseContext(request, plan));

    private OpenAiResponseContext ResponseContext(ChatCompletionRequest request, AnswerPlan plan) =>
        new(ids.Next(), time.GetUtcNow().ToUnixTimeSeconds(), request.Model, plan, request.Structured);
}
