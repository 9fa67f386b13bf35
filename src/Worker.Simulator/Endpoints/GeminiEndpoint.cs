using System.Buffers;
using System.Text.Json;
using Worker.Simulator.Generation;
using Worker.Simulator.Http;
using Worker.Simulator.Json;
using Worker.Simulator.Limits;
using Worker.Simulator.Responses;
using Worker.Simulator.Streaming;

namespace Worker.Simulator.Endpoints;

/// <summary>
/// Gemini <c>POST /v1beta/models/{model}:generateContent</c> and <c>:streamGenerateContent</c> (SSE with
/// <c>?alt=sse</c>, else a streamed JSON array). Routed through a catch-all because the ':' sits inside a segment.
/// </summary>
internal sealed class GeminiEndpoint(GenerationGate gate) : GenerationEndpoint<GeminiCall>(gate)
{
    protected override ErrorDialect Dialect => ErrorDialect.Google;

    protected override async ValueTask<(GeminiCall? Request, ApiError? Error)> ReadRequestAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var target = context.Request.RouteValues["rest"] as string ?? string.Empty;
        var colon = target.LastIndexOf(':');
        var model = colon > 0 ? target[..colon] : string.Empty;
        var method = colon > 0 ? target[(colon + 1)..] : string.Empty;
        var stream = method == "streamGenerateContent";
        if (model.Length == 0 || model.Contains('/', StringComparison.Ordinal) || (!stream && method != "generateContent"))
        {
            return (null, new ApiError(StatusCodes.Status404NotFound, $"Method or model not found: models/{target}. Supported: models/{{model}}:generateContent and :streamGenerateContent.", ApiError.InvalidRequestType, null, "not_found", "NOT_FOUND"));
        }

        var reader = context.Request.BodyReader;
        var body = await RequestBody.ReadToEndAsync(reader, cancellationToken);
        try
        {
            return Parse(body.Buffer, model, stream);
        }
        finally
        {
            reader.AdvanceTo(body.Buffer.End);
        }
    }

    protected override bool IsStreaming(HttpContext context, GeminiCall request) => request.Stream;

    protected override AnswerPlan CreatePlan(GeminiCall request, in SimDirectives directives) => AnswerPlan.Create(
        StableHash.Fnv1aUtf8(request.Model),
        StableHash.Fnv1aUtf8(request.Prompt),
        choices: 1,
        directives.Tokens,
        request.MaxOutputTokens,
        request.PromptTokens);

    protected override RequestCharge Charge(GeminiCall request) => new(request.Model, request.PromptChars, request.MaxOutputTokens);

    protected override StreamFraming Framing(HttpContext context, GeminiCall request) =>
        string.Equals(context.Request.Query["alt"], "sse", StringComparison.OrdinalIgnoreCase)
            ? StreamFraming.ServerSentEvents
            : StreamFraming.JsonArray;

    protected override TokenStreamFormatter CreateFormatter(IBufferWriter<byte> output, HttpContext context, GeminiCall request, AnswerPlan plan) =>
        new GeminiChunkFormatter(output, new GeminiResponseContext(request.Model, plan), Framing(context, request));

    protected override long WriteAnswer(HttpContext context, GeminiCall request, AnswerPlan plan) =>
        GeminiJsonWriter.Write(context.Response.BodyWriter, new GeminiResponseContext(request.Model, plan));

    private static (GeminiCall?, ApiError?) Parse(System.Buffers.ReadOnlySequence<byte> body, string model, bool stream)
    {
        GeminiRequest? request;
        try
        {
            var json = new Utf8JsonReader(body);
            request = JsonSerializer.Deserialize(ref json, GeminiJsonContext.Default.GeminiRequest);
        }
        catch (JsonException e)
        {
            return (null, ApiError.InvalidRequest($"Invalid JSON payload received. {e.Message}", null, null));
        }

        if (request?.Contents is not { Count: > 0 } contents)
        {
            return (null, ApiError.InvalidRequest("* GenerateContentRequest.contents: contents is not specified", "contents", null));
        }

        if (request.GenerationConfig?.MaxOutputTokens is < 1)
        {
            return (null, ApiError.InvalidRequest("* GenerateContentRequest.generation_config.max_output_tokens: must be positive", "generationConfig.maxOutputTokens", null));
        }

        var promptTokens = 0;
        var promptChars = 0L;
        var prompt = string.Empty;
        foreach (var content in contents)
        {
            var texts = new List<string>();
            foreach (var part in content?.Parts ?? [])
            {
                if (part?.Text is { } text)
                {
                    texts.Add(text);
                    promptTokens += AnswerGenerator.CountWords(text);
                    promptChars += TextRules.CountChars(text);
                }
            }

            // The prompt is the last user turn; a content without a role is a user turn.
            if (content?.Role is null or "user")
            {
                prompt = AnswerGenerator.JoinParts(texts);
            }
        }

        return (new GeminiCall(model, stream, prompt, promptTokens, request.GenerationConfig?.MaxOutputTokens, promptChars), null);
    }
}
