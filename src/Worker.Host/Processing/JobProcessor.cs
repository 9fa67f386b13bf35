using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Worker.Connector;
using Worker.Connector.OpenAi;
using Worker.Host.Configuration;
using Worker.Host.Contracts;
using Worker.Host.Telemetry;

namespace Worker.Host.Processing;

/// <summary>One job: build the chat request, run it through the resilience pipeline, and turn the end into a result.</summary>
public sealed partial class JobProcessor
{
    private readonly OpenAiChatClient _chat;
    private readonly LlmResiliencePipeline _pipeline;
    private readonly OutageMonitor _outages;
    private readonly WorkerTelemetry _telemetry;
    private readonly ResilienceOptions _resilience;
    private readonly OpenAiOptions _llm;
    private readonly TimeProvider _time;
    private readonly ILogger<JobProcessor> _logger;

    public JobProcessor(
        OpenAiChatClient chat,
        LlmResiliencePipeline pipeline,
        OutageMonitor outages,
        WorkerTelemetry telemetry,
        IOptions<ResilienceOptions> resilience,
        IOptions<OpenAiOptions> llm,
        ILogger<JobProcessor> logger,
        TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(resilience);
        ArgumentNullException.ThrowIfNull(llm);
        _chat = chat;
        _pipeline = pipeline;
        _outages = outages;
        _telemetry = telemetry;
        _resilience = resilience.Value;
        _llm = llm.Value;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    public async Task<ProcessingOutcome> ProcessAsync(Job job, bool redelivered, long startedTimestamp, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var model = job.Model ?? _llm.Model;
        var request = new ChatCompletionRequest
        {
            Model = model,
            Messages = job.Messages,
            Temperature = job.Temperature,
            MaxTokens = job.MaxTokens,
            Stream = job.Stream,
            IncludeUsage = true,
            ExtraParameters = job.Extras.Count == 0 ? null : job.Extras,
            Timeout = _resilience.AttemptTimeout,
            TenantId = job.Tenant,
        };

        using var activity = _telemetry.ActivitySource.StartActivity($"chat {model}", ActivityKind.Client);
        activity?.SetTag("gen_ai.operation.name", "chat");
        activity?.SetTag("gen_ai.system", "openai");
        activity?.SetTag("gen_ai.request.model", model);
        if (job.Temperature is { } temperature)
        {
            activity?.SetTag("gen_ai.request.temperature", temperature);
        }

        if (job.MaxTokens is { } maxTokens)
        {
            activity?.SetTag("gen_ai.request.max_tokens", maxTokens);
        }

        var attempts = new AttemptCounter();
        try
        {
            var completion = await _pipeline.ExecuteAsync(
                static async (state, token) =>
                {
                    state.Counter.Count++;
                    return await state.Chat.CompleteAsync(state.Request, token);
                },
                (Counter: attempts, Chat: _chat, Request: request),
                cancellationToken);

            activity?.SetTag("gen_ai.response.model", completion.Model);
            activity?.SetTag("gen_ai.response.id", completion.Id);
            activity?.SetTag("gen_ai.response.finish_reasons", completion.Choices.Select(c => c.FinishReason ?? "").ToArray());
            if (completion.Usage is { } usage)
            {
                activity?.SetTag("gen_ai.usage.input_tokens", usage.PromptTokens);
                activity?.SetTag("gen_ai.usage.output_tokens", usage.CompletionTokens);
            }

            _telemetry.Tokens(completion.Usage, model);
            return ProcessingOutcome.Publish(Result(job, model, redelivered, attempts.Count, startedTimestamp) with
            {
                Status = JobResult.Succeeded,
                Content = completion.Content,
                FinishReason = completion.FinishReason,
                Usage = completion.Usage,
                Completion = completion,
            });
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested
            && (LlmResiliencePipeline.IsOutage(ex) || (ex is ConnectorException { IsRetryable: true } && _outages.InOutage)))
        {
            // An outage (or a retryable failure while one is declared) is not this job's fault: requeue it.
            activity?.SetStatus(ActivityStatusCode.Error, "outage");
            _outages.Report(ex.Message);
            LogRequeued(_logger, job.Id, ex.Message);
            return ProcessingOutcome.RequeueFor(ex.Message);
        }
        catch (ConnectorException ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.ErrorClass.ToString());
            activity?.SetTag("error.type", ex.ErrorClass.ToString());
            LogFailed(_logger, job.Id, ex.ErrorClass, ex.Message);
            return ProcessingOutcome.Publish(Failure(job, model, redelivered, attempts.Count, startedTimestamp,
                new JobError(ex.ErrorClass.ToString(), ex.Message, ex.StatusCode, ex.IsRetryable)));
        }
        catch (Exception ex) when (LlmResiliencePipeline.IsBudgetExhausted(ex) && !cancellationToken.IsCancellationRequested)
        {
            activity?.SetStatus(ActivityStatusCode.Error, "timeout");
            var message = $"The job's total budget (Resilience:TotalTimeout = {_resilience.TotalTimeout}) ran out after {attempts.Count} attempt(s).";
            LogFailed(_logger, job.Id, ErrorClass.Timeout, message);
            return ProcessingOutcome.Publish(Failure(job, model, redelivered, attempts.Count, startedTimestamp,
                new JobError(nameof(ErrorClass.Timeout), message, null, true)));
        }
    }

    /// <summary>A failed result for a job that could be read but not run (invalid parameters, poison with an id).</summary>
    public JobResult Rejected(string id, string tenant, JobForm form, string errorClass, string reason, bool redelivered, long startedTimestamp) =>
        new()
        {
            Id = id,
            Status = JobResult.Failed,
            Tenant = tenant,
            Model = null,
            Redelivered = redelivered,
            DurationMs = (long)_time.GetElapsedTime(startedTimestamp).TotalMilliseconds,
            CompletedAt = _time.GetUtcNow(),
            Error = new JobError(errorClass, reason, null, false),
            Form = form,
            CustomId = form == JobForm.Batch ? id : null,
        };

    private JobResult Failure(Job job, string model, bool redelivered, int attempts, long started, JobError error) =>
        Result(job, model, redelivered, attempts, started) with { Status = JobResult.Failed, Error = error };

    private JobResult Result(Job job, string model, bool redelivered, int attempts, long started) => new()
    {
        Id = job.Id,
        Status = JobResult.Failed,
        Tenant = job.Tenant,
        Model = model,
        Attempts = attempts,
        Redelivered = redelivered,
        DurationMs = (long)_time.GetElapsedTime(started).TotalMilliseconds,
        CompletedAt = _time.GetUtcNow(),
        Metadata = job.Metadata,
        Form = job.Form,
        CustomId = job.CustomId,
    };

    private sealed class AttemptCounter
    {
        public int Count { get; set; }
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "Job {JobId} requeued: outage ({Reason})")]
    private static partial void LogRequeued(ILogger logger, string jobId, string reason);

    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Job {JobId} failed ({ErrorClass}): {Reason}")]
    private static partial void LogFailed(ILogger logger, string jobId, ErrorClass errorClass, string reason);
}
