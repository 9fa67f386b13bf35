using Worker.Connector.OpenAi;
using Worker.Host.Contracts;
using Worker.Host.Handling;

namespace Worker.Host.Processing;

/// <summary>Builds results with the time a delivery took and when it completed.</summary>
public sealed class ResultBuilder
{
    private readonly TimeProvider _time;

    public ResultBuilder(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

    public JobResult Succeeded(Job job, string model, ChatCompletion completion, int attempts, JobDelivery delivery) =>
        For(job, model, attempts, delivery) with
        {
            Status = JobStatus.Succeeded,
            Content = completion.Content,
            FinishReason = completion.FinishReason,
            Usage = TokenUsage.From(completion.Usage),
            // Tenths of a millisecond: enough to compare with an upstream's own TTFT, without float noise.
            TtftMs = completion.TimeToFirstToken is { } ttft ? Math.Round(ttft.TotalMilliseconds, 1) : null,
            Completion = completion,
        };

    public JobResult Failed(Job job, string? model, JobError error, int attempts, JobDelivery delivery) =>
        For(job, model, attempts, delivery) with { Error = error };

    /// <summary>A failed <c>Expired</c> result: the job's deadline passed before it could be answered.</summary>
    public JobResult Expired(Job job, string? model, string reason, int attempts, JobDelivery delivery) =>
        For(job, model ?? job.Request.Model, attempts, delivery) with { Error = new JobError(ExpiredClass, reason, null, false) };

    public const string ExpiredClass = "Expired";

    /// <summary>A cancelled result: a cancel request stopped the job, or came before it; with the text streamed until then.</summary>
    public JobResult Cancelled(Job job, string? model, string? partialContent, int attempts, JobDelivery delivery) =>
        For(job, model ?? job.Request.Model, attempts, delivery) with
        {
            Status = JobStatus.Cancelled,
            Content = string.IsNullOrEmpty(partialContent) ? null : partialContent,
        };

    /// <summary>A failed result for a job that could be read but not run (invalid parameters, poison with an id).</summary>
    public JobResult Rejected(string id, string tenant, string errorClass, string reason, JobDelivery delivery) => new()
    {
        Id = id,
        Status = JobStatus.Failed,
        Tenant = tenant,
        Redelivered = delivery.Redelivered,
        DurationMs = (long)_time.GetElapsedTime(delivery.ReceivedTimestamp).TotalMilliseconds,
        CompletedAt = _time.GetUtcNow(),
        Error = new JobError(errorClass, reason, null, false),
    };

    private JobResult For(Job job, string? model, int attempts, JobDelivery delivery) => new()
    {
        Id = job.Id,
        Status = JobStatus.Failed,
        Tenant = job.Tenant,
        Model = model,
        Attempts = attempts,
        Redelivered = delivery.Redelivered,
        DurationMs = (long)_time.GetElapsedTime(delivery.ReceivedTimestamp).TotalMilliseconds,
        CompletedAt = _time.GetUtcNow(),
        Metadata = job.Metadata,
        Form = job.Form,
        CustomId = job.CustomId,
    };
}
