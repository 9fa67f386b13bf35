using System.Buffers;
using Worker.Simulator.Generation;
using Worker.Simulator.Http;
using Worker.Simulator.Json;
using Worker.Simulator.Limits;
using Worker.Simulator.Responses;
using Worker.Simulator.Streaming;

namespace Worker.Simulator.Endpoints;

/// <summary>
/// Anthropic Messages, <c>POST /v1/messages</c>: <c>x-api-key</c> and <c>anthropic-version</c> headers, JSON answer or
/// named SSE events, errors in Anthropic's shape (529 <c>overloaded_error</c> where the others answer 503).
/// </summary>
internal sealed class AnthropicEndpoint(GenerationGate gate) : GenerationEndpoint<AnthropicCall>(gate)
{
    public const string VersionHeader = "anthropic-version";

    protected override ErrorDialect Dialect => ErrorDialect.Anthropic;

    protected override async ValueTask<(AnthropicCall? Request, ApiError? Error)> ReadRequestAsync(HttpContext context, CancellationToken cancellationToken)
    {
        // The version header is checked before the body, as the API does (any value is accepted).
        if (string.IsNullOrEmpty(context.Request.Headers[VersionHeader]))
        {
            return (null, ErrorCatalog.AnthropicVersionMissing);
        }

        var reader = context.Request.BodyReader;
        var body = await RequestBody.ReadToEndAsync(reader, cancellationToken);
        try
        {
            return AnthropicRequestParser.Parse(body.Buffer);
        }
        finally
        {
            reader.AdvanceTo(body.Buffer.End);
        }
    }

    protected override bool IsStreaming(HttpContext context, AnthropicCall request) => request.Stream;

    protected override AnswerPlan CreatePlan(AnthropicCall request, in SimDirectives directives) => AnswerPlan.Create(
        StableHash.Fnv1aUtf8(request.Model),
        StableHash.Fnv1aUtf8(request.Prompt),
        choices: 1,
        directives.Tokens,
        request.MaxTokens,
        request.PromptTokens);

    protected override RequestCharge Charge(AnthropicCall request) => new(request.Model, request.PromptChars, request.MaxTokens);

    protected override StreamFraming Framing(HttpContext context, AnthropicCall request) => StreamFraming.ServerSentEvents;

    protected override TokenStreamFormatter CreateFormatter(IBufferWriter<byte> output, HttpContext context, AnthropicCall request, AnswerPlan plan) =>
        new AnthropicEventFormatter(output, CreateContext(request, plan));

    protected override long WriteAnswer(HttpContext context, AnthropicCall request, AnswerPlan plan) =>
        AnthropicJsonWriter.Write(context.Response.BodyWriter, CreateContext(request, plan));

    private static AnthropicResponseContext CreateContext(AnthropicCall request, AnswerPlan plan) =>
        new(NewMessageId(), request.Model, AnthropicStopReason.For(plan), plan);

    // Anthropic ids are "msg_" and 24 opaque characters; uniqueness is all that matters here.
    private static string NewMessageId() => string.Concat("msg_", Guid.NewGuid().ToString("N").AsSpan(0, 24));
}
