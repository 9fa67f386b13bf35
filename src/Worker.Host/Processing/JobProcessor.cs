using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;
using Worker.Connector;
using Worker.Connector.OpenAi;
using Worker.Host.Configuration;
using Worker.Host.Contracts;
using Worker.Host.Handling;
using Worker.Host.Intake;
using Worker.Host.Resilience;
using Worker.Host.Streaming;
using Worker.Host.Telemetry;

namespace Worker.Host.Processing;

/// <summary>One valid job: its chat request through the <c>llm</c> pipeline, in a <c>chat</c> span; the end becomes a disposition.</summary>
public sealed partial class JobProcessor
{
    private readonly IChatCompletionClient _chat;
    private readonly ResiliencePipeline _pipeline;
    private readonly IntakeController _intake;
    private readonly JobAdmission _admission;
    private readonly AdmissionTelemetry _admissionTelemetry;
    private readonly WorkerTelemetry _telemetry;
    private readonly ResultBuilder _results;
    private readonly ResilienceOptions _resilience;
    private readonly ILogger<JobProcessor> _logger;
    private readonly Uri? _server;
    private readonly TimeProvider _time;
    private readonly WorkerOptions _worker;
    private readonly IDeltaPublisher? _deltas;

    public JobProcessor(
        IChatCompletionClient chat,
        ResiliencePipelineProvider<string> pipelines,
        IntakeController intake,
        JobAdmission admission,
        WorkerTelemetry telemetry,
        AdmissionTelemetry admissionTelemetry,
        ResultBuilder results,
        IOptions<ResilienceOptions> resilience,
        ILogger<JobProcessor> logger,
        TimeProvider? time = null,
        IOptions<WorkerOptions>? worker = null,
        IDeltaPublisher? deltas = null)
    {
        ArgumentNullException.ThrowIfNull(pipelines);
        ArgumentNullException.ThrowIfNull(resilience);
        _chat = chat;
        _pipeline = pipelines.GetPipeline(PipelineNames.Llm);
        _intake = intake;
        _admission = admission;
        _admissionTelemetry = admissionTelemetry;
        _telemetry = telemetry;
        _results = results;
        _resilience = resilience.Value;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _worker = worker?.Value ?? new WorkerOptions();
        _deltas = deltas;
        _server = Uri.TryCreate(chat.Endpoint, UriKind.Absolute, out var endpoint) ? endpoint : null;
    }

    /// <summary>
    /// Runs the job until <paramref name="deadline"/>, which bounds every attempt, wait and retry.
    /// <paramref name="cancelledById"/> stops it for a cancel request: it is then answered cancelled, with the text
    /// streamed so far; <paramref name="cancellationToken"/> is the worker stopping (the delivery is requeued).
    /// </summary>
    public async Task<Disposition> ProcessAsync(Job job, JobDelivery delivery, DateTimeOffset deadline, CancellationToken cancellationToken, CancellationToken cancelledById = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        using var linked = cancelledById.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, cancelledById) : null;
        var token = linked?.Token ?? cancellationToken;
        var model = job.Request.Model ?? _chat.DefaultModel;
        var prompt = _admission.Estimator.CountPrompt(job.Request, model);
        var estimate = prompt + _admission.Estimator.MaxOutput(job.Request);

        // The tenant's budget first: a job over it gives its slot to other tenants' jobs at once.
        var tenantWait = _admission.TakeTenantBudget(job.Tenant, estimate);
        if (tenantWait > TimeSpan.Zero)
        {
            if (_time.GetUtcNow() + tenantWait > deadline)
            {
                return Expire(job, model, $"expired: tenant '{job.Tenant}' has no budget left before the job's deadline ({deadline:O})", delivery.PriorAttempts, delivery);
            }

            if (tenantWait > JobAdmission.TenantMaxWait)
            {
                LogDelayed(_logger, job.Id, "tenant_budget", tenantWait.TotalSeconds);
                return new Disposition.Delay(tenantWait, $"tenant_budget: tenant '{job.Tenant}' is over its tokens per minute", job.Id, delivery.PriorAttempts);
            }

            await Task.Delay(tenantWait, _time, token);
            _admission.SettleTenant(job.Tenant, 0, estimate);
        }

        var remaining = deadline - _time.GetUtcNow();
        var request = job.Request with { Model = model, IncludeUsage = true };
        using var activity = _telemetry.StartChat(request, _server);
        var started = Stopwatch.GetTimestamp();
        // A streamed job is watched for its partial text (answered on cancel) and, when it asked, live deltas.
        await using var stream = request.Stream
            ? new JobStream(job, job.Deltas ?? _worker.Deltas ? _deltas : null, _worker.DeltaInterval, _worker.DeltaMaxPieces, _logger, _time)
            : null;
        var run = new RunState(this, request, new AdmissionTicket(_chat.Endpoint, model, estimate, deadline), stream, delivery.PriorAttempts);
        var context = ResilienceContextPool.Shared.Get(token);
        context.Properties.Set(LlmPipeline.JobBudget, remaining);
        try
        {
            var completion = await _pipeline.ExecuteAsync(static async (ctx, state) => await state.AttemptAsync(ctx.CancellationToken), context, run);
            run.Annotate(activity);
            _telemetry.ChatSucceeded(activity, completion, model, _server, Stopwatch.GetElapsedTime(started));
            if (completion.Usage is { } usage)
            {
                _admission.SettleTenant(job.Tenant, estimate, usage.PromptTokens + usage.CompletionTokens);
                _admissionTelemetry.ModelTokens(model, usage.TotalTokens);
            }

            if (stream is not null)
            {
                // Every delta confirmed before the final result is published.
                await stream.CompleteAsync(cancellationToken);
            }

            return new Disposition.Answer(_results.Succeeded(job, model, completion, delivery.PriorAttempts + run.Attempts, delivery));
        }
        catch (Exception) when (cancelledById.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // Whatever the stopped call threw: the job was cancelled by request, and says how far it got.
            run.Annotate(activity);
            _telemetry.ChatFailed(activity, model, _server, Stopwatch.GetElapsedTime(started), JobStatus.Cancelled);
            if (stream is not null)
            {
                await stream.CompleteAsync(cancellationToken);
            }

            var partial = stream?.PartialText;
            LogCancelled(_logger, job.Id, partial?.Length ?? 0);
            return new Disposition.Answer(_results.Cancelled(job, model, partial, delivery.PriorAttempts + run.Attempts, delivery));
        }
        catch (AdmissionDeferredException ex) when (!cancellationToken.IsCancellationRequested)
        {
            run.Annotate(activity);
            _telemetry.ChatFailed(activity, model, _server, Stopwatch.GetElapsedTime(started), ex.PastDeadline ? ResultBuilder.ExpiredClass : "deferred");
            if (ex.PastDeadline)
            {
                return Expire(job, model, $"expired: the endpoint's limits ({ex.Reason}) would not admit it before its deadline ({deadline:O})", delivery.PriorAttempts + run.Attempts, delivery);
            }

            LogDelayed(_logger, job.Id, ex.Reason, ex.Delay.TotalSeconds);
            return new Disposition.Delay(ex.Delay, $"admission: waiting for the endpoint's {ex.Reason} limit", job.Id, delivery.PriorAttempts + run.Attempts);
        }
        catch (AdmissionRefusedException ex) when (!cancellationToken.IsCancellationRequested)
        {
            var reason = SafeText.Escape(ex.Message);
            _telemetry.ChatFailed(activity, model, _server, Stopwatch.GetElapsedTime(started), nameof(ErrorClass.InvalidRequest));
            LogFailed(_logger, job.Id, ErrorClass.InvalidRequest, reason);
            return new Disposition.Answer(_results.Failed(job, model, new JobError(nameof(ErrorClass.InvalidRequest), reason, null, false), delivery.PriorAttempts + run.Attempts, delivery));
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested
            && (LlmPipeline.IsOutage(ex) || (ex is ConnectorException { IsRetryable: true } && _intake.IsPaused)))
        {
            // An outage (or a retryable failure while one is declared) is not this job's fault: requeue it.
            var reason = SafeText.Escape(ex.Message);
            _telemetry.ChatFailed(activity, model, _server, Stopwatch.GetElapsedTime(started), "outage");
            _intake.ReportOutage(reason);
            LogRequeued(_logger, job.Id, reason);
            return new Disposition.Requeue(reason, job.Id);
        }
        catch (ConnectorException ex)
        {
            var reason = SafeText.Escape(ex.Message);
            _telemetry.ChatFailed(activity, model, _server, Stopwatch.GetElapsedTime(started), ex.ErrorClass.ToString(), ex.StatusCode);
            LogFailed(_logger, job.Id, ex.ErrorClass, reason);
            return new Disposition.Answer(_results.Failed(job, model, new JobError(ex.ErrorClass.ToString(), reason, ex.StatusCode, ex.IsRetryable), delivery.PriorAttempts + run.Attempts, delivery));
        }
        catch (Exception ex) when (LlmPipeline.IsBudgetExhausted(ex) && !cancellationToken.IsCancellationRequested && remaining < _resilience.TotalTimeout)
        {
            // The job's own deadline was the tighter budget.
            run.Annotate(activity);
            var reason = $"expired: the job's deadline ({deadline:O}) passed after {run.Attempts} attempt(s)";
            _telemetry.ChatFailed(activity, model, _server, Stopwatch.GetElapsedTime(started), ResultBuilder.ExpiredClass);
            LogFailed(_logger, job.Id, ErrorClass.Timeout, reason);
            return new Disposition.Answer(_results.Expired(job, model, reason, delivery.PriorAttempts + run.Attempts, delivery));
        }
        catch (Exception ex) when (LlmPipeline.IsBudgetExhausted(ex) && !cancellationToken.IsCancellationRequested && run.RateLimited > 0)
        {
            // The run's budget went on waiting for the endpoint's limits, which never ends a job before its deadline:
            // it waits on in a delay queue.
            run.Annotate(activity);
            _telemetry.ChatFailed(activity, model, _server, Stopwatch.GetElapsedTime(started), "deferred");
            LogDelayed(_logger, job.Id, "rate_limited", 1);
            return new Disposition.Delay(TimeSpan.FromSeconds(1), "admission: the endpoint kept answering 429", job.Id, delivery.PriorAttempts + run.Attempts);
        }
        catch (Exception ex) when (LlmPipeline.IsBudgetExhausted(ex) && !cancellationToken.IsCancellationRequested)
        {
            var reason = $"The job's total budget (Resilience:TotalTimeout = {_resilience.TotalTimeout}) ran out after {run.Attempts} attempt(s).";
            _telemetry.ChatFailed(activity, model, _server, Stopwatch.GetElapsedTime(started), nameof(ErrorClass.Timeout));
            LogFailed(_logger, job.Id, ErrorClass.Timeout, reason);
            return new Disposition.Answer(_results.Failed(job, model, new JobError(nameof(ErrorClass.Timeout), reason, null, true), delivery.PriorAttempts + run.Attempts, delivery));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private Disposition.Answer Expire(Job job, string model, string reason, int attempts, JobDelivery delivery)
    {
        LogFailed(_logger, job.Id, ErrorClass.Timeout, reason);
        return new Disposition.Answer(_results.Expired(job, model, reason, attempts, delivery));
    }

    /// <summary>One job's run through the pipeline: each attempt waits for admission, then calls, then reports how it went.</summary>
    private sealed class RunState(JobProcessor owner, ChatCompletionRequest request, AdmissionTicket ticket, JobStream? stream, int priorAttempts)
    {
        private static readonly TimeSpan MinUsefulTime = TimeSpan.FromMilliseconds(50);

        public int Attempts { get; private set; }

        public int RateLimited { get; private set; }

        private TimeSpan _waited;
        private string? _waitReason;

        public async Task<ChatCompletion> AttemptAsync(CancellationToken cancellationToken)
        {
            var lease = await owner._admission.AcquireAsync(ticket, cancellationToken);
            _waited += lease.Waited;
            _waitReason = lease.Reason ?? _waitReason;
            var left = ticket.Deadline - owner._time.GetUtcNow();
            if (left < MinUsefulTime)
            {
                // Admitted just as the deadline passes: a call now could not finish, so it is not made.
                lease.Complete(new CallReport(null, false, false, null, null, Sent: false));
                throw new AdmissionDeferredException(TimeSpan.Zero, _waitReason ?? "deadline", pastDeadline: true);
            }

            Attempts++;
            // A retried attempt is a fresh stream: its text (and its deltas' numbering) starts again.
            stream?.BeginAttempt(priorAttempts + Attempts);
            var timeout = left < owner._resilience.AttemptTimeout ? left : owner._resilience.AttemptTimeout;
            var started = owner._time.GetTimestamp();
            try
            {
                var completion = await owner._chat.CompleteAsync(
                    request with { Timeout = timeout > TimeSpan.Zero ? timeout : TimeSpan.FromMilliseconds(1), Observer = stream ?? request.Observer },
                    cancellationToken);
                // Time to first token when streamed: it grows with a queue at the server, not with the answer's length.
                lease.Complete(new CallReport(completion.RateLimit, false, false, null, completion.TimeToFirstToken ?? owner._time.GetElapsedTime(started), Sent: true));
                return completion;
            }
            catch (ConnectorException ex)
            {
                var limited = ex.ErrorClass == ErrorClass.RateLimited;
                if (limited)
                {
                    RateLimited++;
                    owner._admissionTelemetry.RateLimited(ticket.Model, ex.RateLimit?.LimitedBy);
                }

                // "Too many at once": a 503/529, or a 429 without rate-limit headers (one with them is the pacer's
                // business). Not a timeout: that may be the job's own deadline, or a hung endpoint, which the outage
                // breaker handles.
                var overloaded = ex.StatusCode is 503 or 529 || (limited && ex.RateLimit is not { HasRequests: true } and not { HasTokens: true });
                lease.Complete(new CallReport(ex.RateLimit, limited, overloaded, ex.RetryAfter, null, Sent: !ex.RuntimeUnavailable));
                throw;
            }
            catch
            {
                lease.Complete(new CallReport(null, false, false, null, null, Sent: true));
                throw;
            }
        }

        /// <summary>The chat span records how long the job waited for admission, and for what.</summary>
        public void Annotate(Activity? activity)
        {
            if (activity is not null && _waited > TimeSpan.Zero)
            {
                activity.SetTag("worker.admission.wait_ms", Math.Round(_waited.TotalMilliseconds, 1));
                activity.SetTag("worker.admission.reason", _waitReason);
            }

            if (activity is not null && RateLimited > 0)
            {
                activity.SetTag("worker.llm.rate_limited", RateLimited);
            }
        }
    }

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Job {JobId} cancelled by request after {Characters} characters of its answer")]
    private static partial void LogCancelled(ILogger logger, string jobId, int characters);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "Job {JobId} delayed ({Reason}) for about {Seconds:0.###} s")]
    private static partial void LogDelayed(ILogger logger, string jobId, string reason, double seconds);

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "Job {JobId} requeued: outage ({Reason})")]
    private static partial void LogRequeued(ILogger logger, string jobId, string reason);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Job {JobId} failed ({ErrorClass}): {Reason}")]
    private static partial void LogFailed(ILogger logger, string jobId, ErrorClass errorClass, string reason);
}
