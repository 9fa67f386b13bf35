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
/// The plain <c>POST /generate</c> endpoint of the original RAI simulator: <c>{"prompt"}</c> in,
/// <c>{"text"}</c> or an SSE stream of <c>{"token"}</c> events ending with <c>[DONE]</c> out.
/// </summary>
internal sealed class GenerateEndpoint(GenerationGate gate) : GenerationEndpoint<GenerateCall>(gate)
{
    protected override ErrorDialect Dialect => ErrorDialect.OpenAi;

    protected override async ValueTask<(GenerateCall? Request, ApiError? Error)> ReadRequestAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var reader = context.Request.BodyReader;
        var body = await RequestBody.ReadToEndAsync(reader, cancellationToken);
        try
        {
            return Parse(body.Buffer);
        }
        finally
        {
            reader.AdvanceTo(body.Buffer.End);
        }
    }

    protected override bool IsStreaming(HttpContext context, GenerateCall request) => request.Stream;

    protected override AnswerPlan CreatePlan(GenerateCall request, in SimDirectives directives) => AnswerPlan.Create(
        StableHash.Fnv1aUtf8(request.Model),
        StableHash.Fnv1aUtf8(request.Prompt),
        choices: 1,
        directives.Tokens ?? request.SimTokens,
        request.MaxTokens,
        AnswerGenerator.CountWords(request.Prompt));

    protected override RequestCharge Charge(GenerateCall request) =>
        new(request.Model, TextRules.CountChars(request.Prompt), request.MaxTokens);

    protected override StreamFraming Framing(HttpContext context, GenerateCall request) => StreamFraming.ServerSentEvents;

    protected override TokenStreamFormatter CreateFormatter(IBufferWriter<byte> output, HttpContext context, GenerateCall request, AnswerPlan plan) =>
        new GenerateTokenFormatter(output, plan);

    protected override long WriteAnswer(HttpContext context, GenerateCall request, AnswerPlan plan) =>
        GenerateJsonWriter.Write(context.Response.BodyWriter, request.Model, plan);

    private static (GenerateCall?, ApiError?) Parse(System.Buffers.ReadOnlySequence<byte> body)
    {
        GenerateRequest? request;
        try
        {
            var json = new Utf8JsonReader(body);
            request = JsonSerializer.Deserialize(ref json, SnakeCaseJsonContext.Default.GenerateRequest);
        }
        catch (JsonException e)
        {
            return (null, e.Path is { Length: > 2 } path
                ? ApiError.InvalidRequest($"Invalid type for '{path[2..]}'.", path[2..], "invalid_type")
                : ErrorCatalog.InvalidJson);
        }

        if (request?.Prompt is not { } prompt)
        {
            return (null, JsonValueRules.Missing("prompt").Error);
        }

        if (request.MaxTokens is < 1)
        {
            return (null, ApiError.InvalidRequest($"Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got {request.MaxTokens} instead.", "max_tokens", "integer_below_min_value"));
        }

        if (request.SimTokens is < 0 or > SimDirectiveReader.MaxTokens)
        {
            return (null, ApiError.InvalidRequest($"Invalid 'sim_tokens': expected a value between 0 and {SimDirectiveReader.MaxTokens}.", "sim_tokens", "invalid_value"));
        }

        var model = string.IsNullOrEmpty(request.Model) ? AnswerGenerator.GenerateEndpointDefaultModel : request.Model;
        return (new GenerateCall(model, prompt, request.Stream == true, request.MaxTokens, request.SimTokens), null);
    }
}
