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
using Worker.Host.Telemetry;

namespace Worker.Host.Processing;

/// <summary>One valid job: its chat request through the <c>llm</c> pipeline, in a <c>chat</c> span; the end becomes a disposition.</summary>
public sealed partial class JobProcessor
{
    private readonly IChatCompletionClient _chat;
    private readonly ResiliencePipeline _pipeline;
    private readonly IntakeController _intake;
    private readonly WorkerTelemetry _telemetry;
    private readonly ResultBuilder _results;
    private readonly ResilienceOptions _resilience;
    private readonly ILogger<JobProcessor> _logger;
    private readonly Uri? _server;
    private readonly TimeProvider _time;

    public JobProcessor(
        IChatCompletionClient chat,
        ResiliencePipelineProvider<string> pipelines,
        IntakeController intake,
        WorkerTelemetry telemetry,
        ResultBuilder results,
        IOptions<ResilienceOptions> resilience,
        ILogger<JobProcessor> logger,
        TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(pipelines);
        ArgumentNullException.ThrowIfNull(resilience);
        _chat = chat;
        _pipeline = pipelines.GetPipeline(PipelineNames.Llm);
        _intake = intake;
        _telemetry = telemetry;
        _results = results;
        _resilience = resilience.Value;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _server = Uri.TryCreate(chat.Endpoint, UriKind.Absolute, out var endpoint) ? endpoint : null;
    }

    /// <summary>Runs the job until <paramref name="deadline"/>, which bounds every attempt, wait and retry.</summary>
    public async Task<Disposition> ProcessAsync(Job job, JobDelivery delivery, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var model = job.Request.Model ?? _chat.DefaultModel;
        var remaining = deadline - _time.GetUtcNow();
        var request = job.Request with { Model = model, IncludeUsage = true, Timeout = remaining < _resilience.AttemptTimeout ? remaining : _resilience.AttemptTimeout };
        using var activity = _telemetry.StartChat(request, _server);
        var started = Stopwatch.GetTimestamp();
        var attempts = new AttemptCounter();
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(LlmPipeline.JobBudget, remaining);
        try
        {
            var completion = await _pipeline.ExecuteAsync(
                static async (ctx, state) =>
                {
                    state.Counter.Count++;
                    return await state.Chat.CompleteAsync(state.Request, ctx.CancellationToken);
                },
                context,
                (Counter: attempts, Chat: _chat, Request: request));

            _telemetry.ChatSucceeded(activity, completion, model, _server, Stopwatch.GetElapsedTime(started));
            return new Disposition.Answer(_results.Succeeded(job, model, completion, attempts.Count, delivery));
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
            return new Disposition.Answer(_results.Failed(job, model, new JobError(ex.ErrorClass.ToString(), reason, ex.StatusCode, ex.IsRetryable), attempts.Count, delivery));
        }
        catch (Exception ex) when (LlmPipeline.IsBudgetExhausted(ex) && !cancellationToken.IsCancellationRequested && remaining < _resilience.TotalTimeout)
        {
            // The job's own deadline was the tighter budget.
            var reason = $"expired: the job's deadline ({deadline:O}) passed after {attempts.Count} attempt(s)";
            _telemetry.ChatFailed(activity, model, _server, Stopwatch.GetElapsedTime(started), ResultBuilder.ExpiredClass);
            LogFailed(_logger, job.Id, ErrorClass.Timeout, reason);
            return new Disposition.Answer(_results.Expired(job, model, reason, attempts.Count, delivery));
        }
        catch (Exception ex) when (LlmPipeline.IsBudgetExhausted(ex) && !cancellationToken.IsCancellationRequested)
        {
            var reason = $"The job's total budget (Resilience:TotalTimeout = {_resilience.TotalTimeout}) ran out after {attempts.Count} attempt(s).";
            _telemetry.ChatFailed(activity, model, _server, Stopwatch.GetElapsedTime(started), nameof(ErrorClass.Timeout));
            LogFailed(_logger, job.Id, ErrorClass.Timeout, reason);
            return new Disposition.Answer(_results.Failed(job, model, new JobError(nameof(ErrorClass.Timeout), reason, null, true), attempts.Count, delivery));
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private sealed class AttemptCounter
    {
        public int Count { get; set; }
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "Job {JobId} requeued: outage ({Reason})")]
    private static partial void LogRequeued(ILogger logger, string jobId, string reason);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Job {JobId} failed ({ErrorClass}): {Reason}")]
    private static partial void LogFailed(ILogger logger, string jobId, ErrorClass errorClass, string reason);
}
