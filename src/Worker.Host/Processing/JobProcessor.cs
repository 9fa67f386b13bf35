using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;
using Worker.Connector;
using Worker.Connector.OpenAi;
using Worker.Host.Configuration;
using Worker.Host.Contracts;
using Worker.Host.Endpoints;
using Worker.Host.Handling;
using Worker.Host.Intake;
using Worker.Host.Resilience;
using Worker.Host.Streaming;
using Worker.Host.Telemetry;

namespace Worker.Host.Processing;

/// <summary>One valid job: its chat request through the <c>llm</c> pipeline, in a <c>chat</c> span; the end becomes a disposition.</summary>
public sealed partial class JobProcessor
{
    private readonly ChatEndpoints _endpoints;
    private readonly ResiliencePipelineProvider<string> _pipelines;
    private readonly IntakeController _intake;
    private readonly JobAdmission _admission;
    private readonly AdmissionTelemetry _admissionTelemetry;
    private readonly WorkerTelemetry _telemetry;
    private readonly ResultBuilder _results;
    private readonly ResilienceOptions _resilience;
    private readonly ILogger<JobProcessor> _logger;
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
        IDeltaPublisher? deltas = null,
        ChatEndpoints? endpoints = null)
    {
        ArgumentNullException.ThrowIfNull(pipelines);
        ArgumentNullException.ThrowIfNull(resilience);
        _endpoints = endpoints ?? ChatEndpoints.Single(chat);
        _pipelines = pipelines;
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
        var (routes, routeError) = _endpoints.Resolve(job.Endpoint, job.Request.Model);
        if (routeError is not null)
        {
            // Never sent: the job names an endpoint (or a model for it) this worker does not have.
            var refused = SafeText.Escape(routeError);
            LogFailed(_logger, job.Id, ErrorClass.InvalidRequest, refused);
            var failed = _results.Failed(job, job.Request.Model, new JobError(nameof(ErrorClass.InvalidRequest), refused, null, false), delivery.PriorAttempts, delivery);
            return new Disposition.Answer(failed with { Endpoint = job.Endpoint });
        }

        var model = routes[0].Model;
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
        using var activity = _telemetry.StartChat(request, routes[0].Endpoint.Server, routes[0].Endpoint.Provider);
        var started = Stopwatch.GetTimestamp();
        // A streamed job is watched for its partial text (answered on cancel) and, when it asked, live deltas.
        await using var stream = request.Stream
            ? new JobStream(job, job.Deltas ?? _worker.Deltas ? _deltas : null, _worker.DeltaInterval, _worker.DeltaMaxPieces, _logger, _time)
            : null;
        var run = new RunState(this, request, estimate, deadline, stream, delivery.PriorAttempts);
        try
        {
            var completion = await RunChainAsync(job, routes, run, token);
            model = run.Route.Model;
            run.Annotate(activity);
            _telemetry.ChatSucceeded(activity, completion, model, run.Server, Stopwatch.GetElapsedTime(started), completion.Provider ?? run.Route.Endpoint.Provider);
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

            return new Disposition.Answer(run.Routed(_results.Succeeded(job, model, completion, delivery.PriorAttempts + run.Attempts, delivery), completion.Provider));
        }
        catch (Exception) when (cancelledById.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // Whatever the stopped call threw: the job was cancelled by request, and says how far it got.
            run.Annotate(activity);
            _telemetry.ChatFailed(activity, run.Route.Model, run.Server, Stopwatch.GetElapsedTime(started), JobStatus.Cancelled, provider: run.Route.Endpoint.Provider);
            if (stream is not null)
            {
                await stream.CompleteAsync(cancellationToken);
            }

            var partial = stream?.PartialText;
            LogCancelled(_logger, job.Id, partial?.Length ?? 0);
            return new Disposition.Answer(run.Routed(_results.Cancelled(job, model, partial, delivery.PriorAttempts + run.Attempts, delivery)));
        }
        catch (AdmissionDeferredException ex) when (!cancellationToken.IsCancellationRequested)
        {
            run.Annotate(activity);
            _telemetry.ChatFailed(activity, run.Route.Model, run.Server, Stopwatch.GetElapsedTime(started), ex.PastDeadline ? ResultBuilder.ExpiredClass : "deferred", provider: run.Route.Endpoint.Provider);
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
            _telemetry.ChatFailed(activity, run.Route.Model, run.Server, Stopwatch.GetElapsedTime(started), nameof(ErrorClass.InvalidRequest), provider: run.Route.Endpoint.Provider);
            LogFailed(_logger, job.Id, ErrorClass.InvalidRequest, reason);
            return new Disposition.Answer(run.Routed(_results.Failed(job, model, new JobError(nameof(ErrorClass.InvalidRequest), reason, null, false), delivery.PriorAttempts + run.Attempts, delivery)));
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && _intake.Hold(ex, run.Route.Endpoint.Name) is not OutageWait.None and var wait)
        {
            // An outage is not this job's fault: requeued while intake is paused, else it waits out its endpoint's
            // outage in a delay queue while jobs for other endpoints go on.
            var reason = SafeText.Escape(ex.Message);
            _telemetry.ChatFailed(activity, run.Route.Model, run.Server, Stopwatch.GetElapsedTime(started), "outage", provider: run.Route.Endpoint.Provider);
            if (wait == OutageWait.Delay)
            {
                LogDelayed(_logger, job.Id, "outage", _resilience.BreakerBreakDuration.TotalSeconds);
                return new Disposition.Delay(_resilience.BreakerBreakDuration, $"outage: endpoint '{run.Route.Endpoint.Name}' is down ({reason})", job.Id, delivery.PriorAttempts + run.Attempts);
            }

            LogRequeued(_logger, job.Id, reason);
            return new Disposition.Requeue(reason, job.Id);
        }
        catch (ConnectorException ex)
        {
            var reason = SafeText.Escape(ex.Message);
            _telemetry.ChatFailed(activity, run.Route.Model, run.Server, Stopwatch.GetElapsedTime(started), ex.ErrorClass.ToString(), ex.StatusCode, provider: run.Route.Endpoint.Provider);
            LogFailed(_logger, job.Id, ex.ErrorClass, reason);
            return new Disposition.Answer(run.Routed(_results.Failed(job, model, new JobError(ex.ErrorClass.ToString(), reason, ex.StatusCode, ex.IsRetryable), delivery.PriorAttempts + run.Attempts, delivery)));
        }
        catch (Exception ex) when (LlmPipeline.IsBudgetExhausted(ex) && !cancellationToken.IsCancellationRequested && remaining < _resilience.TotalTimeout)
        {
            // The job's own deadline was the tighter budget.
            run.Annotate(activity);
            var reason = $"expired: the job's deadline ({deadline:O}) passed after {run.Attempts} attempt(s)";
            _telemetry.ChatFailed(activity, run.Route.Model, run.Server, Stopwatch.GetElapsedTime(started), ResultBuilder.ExpiredClass, provider: run.Route.Endpoint.Provider);
            LogFailed(_logger, job.Id, ErrorClass.Timeout, reason);
            return new Disposition.Answer(run.Routed(_results.Expired(job, model, reason, delivery.PriorAttempts + run.Attempts, delivery)));
        }
        catch (Exception ex) when (LlmPipeline.IsBudgetExhausted(ex) && !cancellationToken.IsCancellationRequested && run.RateLimited > 0)
        {
            // The run's budget went on waiting for the endpoint's limits, which never ends a job before its deadline:
            // it waits on in a delay queue.
            run.Annotate(activity);
            _telemetry.ChatFailed(activity, run.Route.Model, run.Server, Stopwatch.GetElapsedTime(started), "deferred", provider: run.Route.Endpoint.Provider);
            LogDelayed(_logger, job.Id, "rate_limited", 1);
            return new Disposition.Delay(TimeSpan.FromSeconds(1), "admission: the endpoint kept answering 429", job.Id, delivery.PriorAttempts + run.Attempts);
        }
        catch (Exception ex) when (LlmPipeline.IsBudgetExhausted(ex) && !cancellationToken.IsCancellationRequested)
        {
            var reason = $"The job's total budget (Resilience:TotalTimeout = {_resilience.TotalTimeout}) ran out after {run.Attempts} attempt(s).";
            _telemetry.ChatFailed(activity, run.Route.Model, run.Server, Stopwatch.GetElapsedTime(started), nameof(ErrorClass.Timeout), provider: run.Route.Endpoint.Provider);
            LogFailed(_logger, job.Id, ErrorClass.Timeout, reason);
            return new Disposition.Answer(run.Routed(_results.Failed(job, model, new JobError(nameof(ErrorClass.Timeout), reason, null, true), delivery.PriorAttempts + run.Attempts, delivery)));
        }
    }

    /// <summary>
    /// The job's candidates in order: each runs the whole <c>llm</c> pipeline (its retries included); the next is
    /// tried only when this one is overloaded, down or cannot admit the job in time, and never once a token arrived.
    /// </summary>
    private async Task<ChatCompletion> RunChainAsync(Job job, IReadOnlyList<ChatRoute> routes, RunState run, CancellationToken cancellationToken)
    {
        for (var i = 0; ; i++)
        {
            run.Use(routes[i]);
            // Each endpoint's own pipeline: its breaker opens for its outage only.
            var pipeline = _pipelines.GetPipeline(PipelineNames.ForEndpoint(routes[i].Endpoint.Name));
            var context = ResilienceContextPool.Shared.Get(cancellationToken);
            context.Properties.Set(LlmPipeline.JobBudget, run.Deadline - _time.GetUtcNow());
            try
            {
                return await pipeline.ExecuteAsync(static async (ctx, state) => await state.AttemptAsync(ctx.CancellationToken), context, run);
            }
            catch (Exception ex) when (i + 1 < routes.Count && !cancellationToken.IsCancellationRequested && Failover.FallbackReason(ex, run.RateLimited > 0, run.FirstTokenSeen) is { } reason)
            {
                LogFallback(_logger, job.Id, routes[i].Endpoint.Name, routes[i + 1].Endpoint.Name, reason);
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }
    }

    private Disposition.Answer Expire(Job job, string model, string reason, int attempts, JobDelivery delivery)
    {
        LogFailed(_logger, job.Id, ErrorClass.Timeout, reason);
        return new Disposition.Answer(_results.Expired(job, model, reason, attempts, delivery));
    }

    /// <summary>One job's run through the pipeline: each attempt waits for admission, then calls, then reports how it went.</summary>
    private sealed class RunState(JobProcessor owner, ChatCompletionRequest request, int estimate, DateTimeOffset deadline, JobStream? stream, int priorAttempts)
    {
        private static readonly TimeSpan MinUsefulTime = TimeSpan.FromMilliseconds(50);
        private readonly List<string> _chain = [];
        private AdmissionTicket _ticket;
        private ChatCompletionRequest _request = null!;

        public DateTimeOffset Deadline => deadline;

        /// <summary>The candidate being tried (the last one tried, after the run).</summary>
        public ChatRoute Route { get; private set; } = null!;

        public Uri? Server => Route.Endpoint.Server;

        public bool FirstTokenSeen => stream?.FirstTokenSeen ?? false;

        /// <summary>The next candidate: its endpoint's admission (limits are per endpoint and model) and its model.</summary>
        public void Use(ChatRoute route)
        {
            Route = route;
            _chain.Add(route.Endpoint.Name);
            _ticket = new AdmissionTicket(route.Endpoint.Client.Endpoint, route.Model, estimate, deadline);
            _request = request with { Model = route.Model };
        }

        /// <summary>The result with the provider and endpoint that answered (or were tried last), and the chain when it fell back.</summary>
        public JobResult Routed(JobResult result, string? provider = null) => result with
        {
            Provider = provider ?? Route.Endpoint.Provider,
            Endpoint = Route.Endpoint.Name,
            Model = result.Model is null ? null : Route.Model,
            Chain = _chain.Count > 1 ? [.. _chain] : null,
        };

        public int Attempts { get; private set; }

        public int RateLimited { get; private set; }

        private TimeSpan _waited;
        private string? _waitReason;

        public async Task<ChatCompletion> AttemptAsync(CancellationToken cancellationToken)
        {
            var ticket = _ticket;
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
                var completion = await Route.Endpoint.Client.CompleteAsync(
                    _request with { Timeout = timeout > TimeSpan.Zero ? timeout : TimeSpan.FromMilliseconds(1), Observer = stream ?? _request.Observer },
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

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "Job {JobId} falls back from endpoint {From} to {To} ({Reason})")]
    private static partial void LogFallback(ILogger logger, string jobId, string from, string to, string reason);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Job {JobId} cancelled by request after {Characters} characters of its answer")]
    private static partial void LogCancelled(ILogger logger, string jobId, int characters);

    [LoggerMessage(EventId = 102, Level = LogLevel.Debug, Message = "Job {JobId} delayed ({Reason}) for about {Seconds:0.###} s")]
    private static partial void LogDelayed(ILogger logger, string jobId, string reason, double seconds);

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "Job {JobId} requeued: outage ({Reason})")]
    private static partial void LogRequeued(ILogger logger, string jobId, string reason);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Job {JobId} failed ({ErrorClass}): {Reason}")]
    private static partial void LogFailed(ILogger logger, string jobId, ErrorClass errorClass, string reason);
}
