using System.Diagnostics;
using System.Diagnostics.Metrics;
using RabbitMQ.Client.Events;
using Worker.Connector.OpenAi;
using Worker.Host.Contracts;
using Worker.Host.Handling;

namespace Worker.Host.Telemetry;

/// <summary>The worker's spans and metrics. Names follow the OpenTelemetry messaging and gen_ai conventions.</summary>
public sealed class WorkerTelemetry : IDisposable
{
    public const string SourceName = "Worker.Host";

    private readonly Meter _meter;
    private readonly Counter<long> _jobs;
    private readonly Histogram<double> _duration;
    private readonly Histogram<int> _attempts;
    private readonly UpDownCounter<int> _inFlight;
    private readonly Counter<long> _tokens;

    public WorkerTelemetry(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(SourceName);
        _jobs = _meter.CreateCounter<long>("worker.jobs", "{job}", "Jobs finished, by outcome (succeeded, failed, dead_lettered, requeued).");
        _duration = _meter.CreateHistogram<double>("worker.job.duration", "s", "Time from delivery to result confirmed.");
        _attempts = _meter.CreateHistogram<int>("worker.job.attempts", "{attempt}", "LLM attempts per finished job.");
        _inFlight = _meter.CreateUpDownCounter<int>("worker.jobs.in_flight", "{job}", "Jobs being processed.");
        _tokens = _meter.CreateCounter<long>("gen_ai.client.token.usage", "{token}", "Tokens used, by gen_ai.token.type (input, output).");
    }

    public ActivitySource ActivitySource { get; } = new(SourceName);

    public void JobStarted() => _inFlight.Add(1);

    public void JobEnded(JobOutcome outcome, TimeSpan duration, int attempts)
    {
        _inFlight.Add(-1);
        var tag = new KeyValuePair<string, object?>("outcome", OutcomeName(outcome));
        _jobs.Add(1, tag);
        _duration.Record(duration.TotalSeconds, tag);
        if (attempts > 0)
        {
            _attempts.Record(attempts, tag);
        }
    }

    /// <summary>The consumer span of one delivery, child of the producer's trace context (AMQP headers).</summary>
    public Activity? StartProcess(string queue, BasicDeliverEventArgs delivery)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        var parent = AmqpTraceContext.Extract(delivery.BasicProperties.Headers);
        var activity = ActivitySource.StartActivity($"process {queue}", ActivityKind.Consumer, parent);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("messaging.system", "rabbitmq");
            activity.SetTag("messaging.operation.type", "process");
            activity.SetTag("messaging.operation.name", "process");
            activity.SetTag("messaging.destination.name", queue);
            activity.SetTag("messaging.consumer.group.name", queue);
            activity.SetTag("messaging.message.body.size", delivery.Body.Length);
            activity.SetTag("messaging.rabbitmq.delivery_tag", delivery.DeliveryTag);
            if (delivery.BasicProperties.MessageId is { } messageId)
            {
                activity.SetTag("messaging.message.id", SafeText.Escape(messageId, 256));
            }
        }

        return activity;
    }

    public static void ProcessHandled(Activity? activity, Disposition disposition)
    {
        ArgumentNullException.ThrowIfNull(disposition);
        if (activity is null)
        {
            return;
        }

        if (disposition.JobId is { } id)
        {
            activity.SetTag("messaging.message.conversation_id", id);
        }

        activity.SetTag("worker.job.outcome", OutcomeName(disposition.Outcome));
        if (disposition.Outcome is JobOutcome.DeadLettered or JobOutcome.Failed)
        {
            activity.SetStatus(ActivityStatusCode.Error, OutcomeName(disposition.Outcome));
        }
    }

    public static void ProcessFailed(Activity? activity, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        activity?.SetStatus(ActivityStatusCode.Error, exception.GetType().Name);
        activity?.SetTag("error.type", exception.GetType().FullName);
    }

    /// <summary>The client span of one job's LLM call (all its attempts).</summary>
    public Activity? StartChat(ChatCompletionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var activity = ActivitySource.StartActivity($"chat {request.Model}", ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("gen_ai.operation.name", "chat");
            activity.SetTag("gen_ai.system", "openai");
            activity.SetTag("gen_ai.request.model", request.Model);
            if (request.Temperature is { } temperature)
            {
                activity.SetTag("gen_ai.request.temperature", temperature);
            }

            if (request.MaxTokens is { } maxTokens)
            {
                activity.SetTag("gen_ai.request.max_tokens", maxTokens);
            }
        }

        return activity;
    }

    public void ChatSucceeded(Activity? activity, ChatCompletion completion, string model)
    {
        ArgumentNullException.ThrowIfNull(completion);
        if (activity is not null)
        {
            activity.SetTag("gen_ai.response.model", completion.Model);
            activity.SetTag("gen_ai.response.id", completion.Id);
            activity.SetTag("gen_ai.response.finish_reasons", completion.Choices.Select(c => c.FinishReason ?? "").ToArray());
            if (completion.Usage is { } usage)
            {
                activity.SetTag("gen_ai.usage.input_tokens", usage.PromptTokens);
                activity.SetTag("gen_ai.usage.output_tokens", usage.CompletionTokens);
            }
        }

        if (completion.Usage is { } used)
        {
            var modelTag = new KeyValuePair<string, object?>("gen_ai.request.model", model);
            _tokens.Add(used.PromptTokens, new KeyValuePair<string, object?>("gen_ai.token.type", "input"), modelTag);
            _tokens.Add(used.CompletionTokens, new KeyValuePair<string, object?>("gen_ai.token.type", "output"), modelTag);
        }
    }

    public static void ChatFailed(Activity? activity, string errorType, int? statusCode = null)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, errorType);
        activity.SetTag("error.type", errorType);
        if (statusCode is { } status)
        {
            activity.SetTag("http.response.status_code", status);
        }
    }

    public static string OutcomeName(JobOutcome outcome) => outcome switch
    {
        JobOutcome.Succeeded => "succeeded",
        JobOutcome.Failed => "failed",
        JobOutcome.DeadLettered => "dead_lettered",
        _ => "requeued",
    };

    public void Dispose()
    {
        ActivitySource.Dispose();
        _meter.Dispose();
    }
}
