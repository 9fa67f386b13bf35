using System.Text.Json;
using System.Text.Json.Serialization;

namespace Worker.Host.Contracts;

/// <summary>One line of the OpenAI Batch API output form: <c>{"id","custom_id","response":{"status_code","request_id","body"},"error"}</c>.</summary>
public sealed record BatchOutputLine
{
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("custom_id")]
    public required string CustomId { get; init; }

    [JsonPropertyName("response")]
    public BatchResponse? Response { get; init; }

    [JsonPropertyName("error")]
    public BatchError? Error { get; init; }

    [JsonIgnore]
    public bool IsSuccess => Error is null;
}

/// <summary>The HTTP answer of a Batch line: a <c>chat.completion</c> object, or the upstream's error body.</summary>
public sealed record BatchResponse(
    [property: JsonPropertyName("status_code")] int StatusCode,
    [property: JsonPropertyName("request_id")] string RequestId,
    [property: JsonPropertyName("body")] JsonElement Body);

public sealed record BatchError(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("message")] string Message);

/// <summary>A <c>chat.completion</c> object (the body of a succeeded Batch line).</summary>
public sealed record CompletionBody(
    [property: JsonPropertyName("id")] string? Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("system_fingerprint"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? SystemFingerprint,
    [property: JsonPropertyName("choices")] IReadOnlyList<CompletionChoiceBody> Choices,
    [property: JsonPropertyName("usage")] TokenUsage? Usage);

public sealed record CompletionChoiceBody(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("message")] CompletionMessageBody Message,
    [property: JsonPropertyName("finish_reason")] string? FinishReason);

public sealed record CompletionMessageBody(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] string? Content,
    [property: JsonPropertyName("refusal")] string? Refusal,
    [property: JsonPropertyName("tool_calls"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<ToolCallBody>? ToolCalls);

public sealed record ToolCallBody(
    [property: JsonPropertyName("id")] string? Id,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("function")] FunctionCallBody Function);

public sealed record FunctionCallBody(
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("arguments")] string Arguments);

/// <summary>The upstream's error, as the body of a failed Batch line.</summary>
public sealed record ErrorBody([property: JsonPropertyName("error")] ErrorDetail Error);

public sealed record ErrorDetail(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type);
