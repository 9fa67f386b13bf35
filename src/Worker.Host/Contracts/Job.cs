using System.Text.Json;
using Worker.Connector.OpenAi;

namespace Worker.Host.Contracts;

/// <summary>Which input form a job arrived in.</summary>
public enum JobForm
{
    /// <summary>Our form: <c>{"id", "prompt" | "messages", ...}</c>.</summary>
    Native,

    /// <summary>One line of the OpenAI Batch API input: <c>{"custom_id", "method", "url", "body"}</c>.</summary>
    Batch,
}

/// <summary>A validated prompt job (contract version 1): who asked, and the chat request to send.</summary>
public sealed record Job
{
    public required string Id { get; init; }
    public required string Tenant { get; init; }

    /// <summary>The request as it goes to the endpoint; its <c>Model</c> is null for "the configured model".</summary>
    public required ChatCompletionRequest Request { get; init; }

    /// <summary>Caller's metadata, echoed on the result untouched.</summary>
    public JsonElement? Metadata { get; init; }

    public JobForm Form { get; init; }

    /// <summary>Batch form: the line's custom_id (also the job id).</summary>
    public string? CustomId { get; init; }

    /// <summary>The job's own deadline, when it gave one.</summary>
    public DateTimeOffset? Deadline { get; init; }

    /// <summary>The job's own time to live from when it was enqueued, when it gave one.</summary>
    public TimeSpan? Ttl { get; init; }

    /// <summary>Live deltas asked for (<c>"deltas": true/false</c>); null = the worker's default (<c>Worker:Deltas</c>).</summary>
    public bool? Deltas { get; init; }

    /// <summary>The named endpoint asked for (<c>"endpoint"</c>); null = routed by the model.</summary>
    public string? Endpoint { get; init; }
}

/// <summary>
/// What a job body turned out to be: a <see cref="Job"/>, or a rejection — <see cref="JobOutcome.DeadLettered"/>
/// (poison: cannot be processed at all) or <see cref="JobOutcome.Failed"/> (readable, invalid parameters) — with a reason.
/// </summary>
public sealed record JobParseResult
{
    public Job? Job { get; private init; }

    /// <summary>The id, when one could be read (also for rejected jobs).</summary>
    public string? Id { get; private init; }

    public string? Tenant { get; private init; }

    /// <summary>Null for a valid job; else how it is rejected.</summary>
    public JobOutcome? Rejection { get; private init; }

    /// <summary>Why it is rejected: a short code and a readable explanation, e.g. "invalid_json: ...". Free of control characters.</summary>
    public string? Reason { get; private init; }

    public static JobParseResult Valid(Job job) => new() { Job = job, Id = job.Id, Tenant = job.Tenant };

    public static JobParseResult Poison(string reason, string? id = null, string? tenant = null) =>
        new() { Rejection = JobOutcome.DeadLettered, Reason = SafeText.Escape(reason), Id = id, Tenant = tenant };

    public static JobParseResult Invalid(string reason, string id, string tenant) =>
        new() { Rejection = JobOutcome.Failed, Reason = SafeText.Escape(reason), Id = id, Tenant = tenant };
}
