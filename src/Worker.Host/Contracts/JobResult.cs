using System.Text.Json;
using System.Text.Json.Serialization;
using Worker.Connector.OpenAi;

namespace Worker.Host.Contracts;

/// <summary>
/// The answer to one job as published to the results exchange (contract version 1), and as every reader reads it
/// (<see cref="ResultSerializer"/>). Batch-form jobs may be answered in <see cref="BatchOutputLine"/> form instead.
/// </summary>
public sealed record JobResult
{
    [JsonPropertyName("version")]
    public int Version { get; init; } = JobContract.Version;

    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("custom_id")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? CustomId { get; init; }

    /// <summary><see cref="JobStatus.Succeeded"/>, <see cref="JobStatus.Failed"/> or <see cref="JobStatus.Cancelled"/>.</summary>
    [JsonPropertyName("status")]
    public required string Status { get; init; }

    [JsonPropertyName("tenant")]
    public required string Tenant { get; init; }

    [JsonPropertyName("model")]
    public string? Model { get; init; }

    /// <summary>The provider that answered (or was asked): openai, anthropic or gemini. Absent for jobs not run.</summary>
    [JsonPropertyName("provider")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Provider { get; init; }

    /// <summary>The named endpoint that answered (or was asked last); <c>default</c> for the single-endpoint configuration.</summary>
    [JsonPropertyName("endpoint")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Endpoint { get; init; }

    /// <summary>When the job fell back: the endpoints tried, in order (the last one answered, or failed last).</summary>
    [JsonPropertyName("chain")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Chain { get; init; }

    [JsonPropertyName("content")]
    public string? Content { get; init; }

    [JsonPropertyName("finish_reason")]
    public string? FinishReason { get; init; }

    [JsonPropertyName("usage")]
    public TokenUsage? Usage { get; init; }

    [JsonPropertyName("attempts")]
    public int Attempts { get; init; }

    [JsonPropertyName("redelivered")]
    public bool Redelivered { get; init; }

    [JsonPropertyName("duration_ms")]
    public long DurationMs { get; init; }

    /// <summary>
    /// For a streamed answer: milliseconds from sending the (successful attempt's) request to its first content or
    /// tool-call delta. Absent for answers that were not streamed.
    /// </summary>
    [JsonPropertyName("ttft_ms")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? TtftMs { get; init; }

    [JsonPropertyName("completed_at")]
    public DateTimeOffset CompletedAt { get; init; }

    [JsonPropertyName("metadata")]
    public JsonElement? Metadata { get; init; }

    [JsonPropertyName("error")]
    public JobError? Error { get; init; }

    /// <summary>The form the job arrived in (not on the wire).</summary>
    [JsonIgnore]
    public JobForm Form { get; init; }

    /// <summary>The whole completion, for the Batch output form (not on the wire in our form).</summary>
    [JsonIgnore]
    public ChatCompletion? Completion { get; init; }

    [JsonIgnore]
    public bool IsSuccess => Status == JobStatus.Succeeded;

    [JsonIgnore]
    public JobOutcome Outcome => IsSuccess ? JobOutcome.Succeeded : Status == JobStatus.Cancelled ? JobOutcome.Cancelled : JobOutcome.Failed;

    /// <summary>Routing key on the results exchange.</summary>
    [JsonIgnore]
    public string RoutingKey => IsSuccess ? "completion.succeeded" : Status == JobStatus.Cancelled ? "completion.cancelled" : "completion.failed";
}

/// <summary>Why a job failed. <see cref="Class"/> is the ErrorClass name, or "Poison" / "InvalidRequest" for jobs not run.</summary>
public sealed record JobError(
    [property: JsonPropertyName("class")] string Class,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("status_code")] int? StatusCode,
    [property: JsonPropertyName("retryable")] bool Retryable);

/// <summary>Tokens the endpoint reported.</summary>
public sealed record TokenUsage(
    [property: JsonPropertyName("prompt_tokens")] int PromptTokens,
    [property: JsonPropertyName("completion_tokens")] int CompletionTokens,
    [property: JsonPropertyName("total_tokens")] int TotalTokens)
{
    public static TokenUsage? From(ChatUsage? usage) => usage is null ? null : new(usage.PromptTokens, usage.CompletionTokens, usage.TotalTokens);
}
