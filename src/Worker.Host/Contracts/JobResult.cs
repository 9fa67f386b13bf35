using System.Text.Json;
using Worker.Connector.OpenAi;

namespace Worker.Host.Contracts;

/// <summary>The answer to one job, published to the results exchange (contract version 1).</summary>
public sealed record JobResult
{
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";

    public required string Id { get; init; }
    public required string Status { get; init; }
    public required string Tenant { get; init; }
    public string? Model { get; init; }
    public string? Content { get; init; }
    public string? FinishReason { get; init; }
    public ChatUsage? Usage { get; init; }
    public int Attempts { get; init; }
    public bool Redelivered { get; init; }
    public long DurationMs { get; init; }
    public DateTimeOffset CompletedAt { get; init; }
    public JsonElement? Metadata { get; init; }
    public JobError? Error { get; init; }
    public JobForm Form { get; init; }
    public string? CustomId { get; init; }

    /// <summary>The whole completion (for Batch output form); not serialized in our form.</summary>
    public ChatCompletion? Completion { get; init; }

    public bool IsSuccess => Status == Succeeded;

    /// <summary>Routing key on the results exchange.</summary>
    public string RoutingKey => IsSuccess ? "completion.succeeded" : "completion.failed";
}

/// <summary>Why a job failed. <see cref="Class"/> is the ErrorClass name (or "Poison" for unreadable jobs).</summary>
public sealed record JobError(string Class, string Message, int? StatusCode, bool Retryable);
