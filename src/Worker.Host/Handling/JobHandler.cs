using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Worker.Host.Cancelling;
using Worker.Host.Configuration;
using Worker.Host.Contracts;
using Worker.Host.Processing;

namespace Worker.Host.Handling;

/// <summary>
/// Decides what happens to one delivery — the README's "What happens to a job" table in code. Knows nothing of
/// RabbitMQ: a body and a redelivered flag in, a <see cref="Disposition"/> out. A job's own content can only ever end
/// that job (failed result or dead letter); it never makes the worker requeue it or call the endpoint again.
/// </summary>
public sealed partial class JobHandler
{
    private readonly JobParser _parser;
    private readonly JobProcessor _processor;
    private readonly ResultBuilder _results;
    private readonly string _defaultTenant;
    private readonly TimeSpan _defaultTtl;
    private readonly TimeProvider _time;
    private readonly ILogger<JobHandler> _logger;
    private readonly CancelLedger? _cancels;

    public JobHandler(
        JobParser parser, JobProcessor processor, ResultBuilder results, IOptions<WorkerOptions> options, ILogger<JobHandler> logger, TimeProvider? time = null, CancelLedger? cancels = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _parser = parser;
        _processor = processor;
        _results = results;
        _defaultTenant = options.Value.DefaultTenant;
        _defaultTtl = options.Value.DefaultJobTtl;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _cancels = cancels;
    }

    /// <summary>
    /// Never throws but for cancellation (the worker is stopping: the job source requeues the delivery).
    /// </summary>
    public async Task<Disposition> HandleAsync(JobDelivery delivery, CancellationToken cancellationToken)
    {
        var parsed = _parser.Parse(delivery.Body);
        switch (parsed.Rejection)
        {
            case JobOutcome.DeadLettered:
                LogPoison(_logger, parsed.Id, parsed.Reason!);
                return new Disposition.DeadLetter(parsed.Reason!, parsed.Id is { } poisonId
                    ? _results.Rejected(poisonId, parsed.Tenant ?? _defaultTenant, "Poison", parsed.Reason!, delivery)
                    : null, parsed.Id);
            case JobOutcome.Failed:
                LogInvalid(_logger, parsed.Id!, parsed.Reason!);
                return new Disposition.Answer(_results.Rejected(parsed.Id!, parsed.Tenant!, "InvalidRequest", parsed.Reason!, delivery));
        }

        var job = parsed.Job!;
        var deadline = job.Deadline ?? (delivery.EnqueuedAt ?? _time.GetUtcNow()) + (job.Ttl ?? _defaultTtl);
        if (_time.GetUtcNow() >= deadline)
        {
            var reason = $"expired: the job's deadline ({deadline:O}) passed before it was sent";
            LogExpired(_logger, job.Id, deadline);
            return new Disposition.Answer(_results.Expired(job, null, reason, delivery.PriorAttempts, delivery));
        }

        // Tracked from here, so a cancel that arrives at any point from now on stops this run.
        using var cancellation = _cancels?.Track(job.Id, _time.GetUtcNow());
        if (cancellation is { IsCancellationRequested: true })
        {
            LogCancelledBeforeStart(_logger, job.Id);
            return new Disposition.Answer(_results.Cancelled(job, null, null, delivery.PriorAttempts, delivery));
        }

        try
        {
            return await _processor.ProcessAsync(job, delivery, deadline, cancellationToken, cancellation?.Token ?? default);
        }
        catch (OperationCanceledException) when (cancellation is { IsCancellationRequested: true } && !cancellationToken.IsCancellationRequested)
        {
            // Cancelled while it waited for its tenant's budget, before any call.
            return new Disposition.Answer(_results.Cancelled(job, null, null, delivery.PriorAttempts, delivery));
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // A failure that is neither the broker's nor the endpoint's: terminal for this job, so that it cannot
            // go round again (and call the endpoint again) until the delivery limit drops it without a reason.
            var reason = SafeText.Escape($"internal_error: {ex.GetType().Name}: {ex.Message}");
            LogUnexpected(_logger, ex, job.Id);
            return new Disposition.DeadLetter(reason, _results.Rejected(job.Id, job.Tenant, "Internal", reason, delivery), job.Id);
        }
    }

    [LoggerMessage(EventId = 214, Level = LogLevel.Information, Message = "Job {JobId} was cancelled before it arrived; answered cancelled without a call")]
    private static partial void LogCancelledBeforeStart(ILogger logger, string jobId);

    [LoggerMessage(EventId = 213, Level = LogLevel.Information, Message = "Job {JobId} expired at {Deadline:O} before it was sent")]
    private static partial void LogExpired(ILogger logger, string jobId, DateTimeOffset deadline);

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "Dead-lettered job (id {JobId}): {Reason}")]
    private static partial void LogPoison(ILogger logger, string? jobId, string reason);

    [LoggerMessage(EventId = 210, Level = LogLevel.Information, Message = "Job {JobId} is invalid: {Reason}")]
    private static partial void LogInvalid(ILogger logger, string jobId, string reason);

    [LoggerMessage(EventId = 209, Level = LogLevel.Error, Message = "Unexpected failure on job {JobId}; dead-lettered")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string jobId);
}
