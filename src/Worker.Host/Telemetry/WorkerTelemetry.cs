using System.Diagnostics;
using System.Diagnostics.Metrics;
using RabbitMQ.Client;
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
    private readonly Histogram<long> _tokens;
    private readonly Histogram<double> _operationDuration;
    private readonly Histogram<double> _timeToFirstChunk;

    // Bucket advice from the gen_ai semantic conventions (seconds: 10 ms to 82 s; tokens: 1 to 67 M). Job durations
    // are LLM durations plus a broker round trip, so they share the seconds buckets.
    private static readonly InstrumentAdvice<double> SecondsBuckets = new()
    {
        HistogramBucketBoundaries = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92],
    };

    private static readonly InstrumentAdvice<long> TokenBuckets = new()
    {
        HistogramBucketBoundaries = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
    };

    public WorkerTelemetry(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(SourceName);
        _jobs = _meter.CreateCounter<long>("worker.jobs", "{job}", "Jobs finished, by outcome (succeeded, failed, dead_lettered, requeued, delayed).");
        _duration = _meter.CreateHistogram("worker.job.duration", "s", "Time from delivery to result confirmed.", tags: null, SecondsBuckets);
        _attempts = _meter.CreateHistogram<int>("worker.job.attempts", "{attempt}", "LLM attempts per finished job.");
        _inFlight = _meter.CreateUpDownCounter<int>("worker.jobs.in_flight", "{job}", "Jobs being processed.");
        _tokens = _meter.CreateHistogram("gen_ai.client.token.usage", "{token}", "Number of input and output tokens used.", tags: null, TokenBuckets);
        _operationDuration = _meter.CreateHistogram("gen_ai.client.operation.duration", "s", "GenAI operation duration (all attempts of one job).", tags: null, SecondsBuckets);
        // The gen_ai client convention for streamed calls: its "first chunk" is, here, the first chunk carrying
        // content or a tool call (the role-only preamble does not count), as ChatCompletion.TimeToFirstToken measures it.
        _timeToFirstChunk = _meter.CreateHistogram("gen_ai.client.operation.time_to_first_chunk", "s",
            "Time from sending a streamed chat request to its first content or tool-call chunk.", tags: null, SecondsBuckets);
    }

    /// <summary>The gen_ai provider of the default endpoint (named endpoints name their own).</summary>
    public const string ProviderName = "openai";

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
    public Activity? StartProcess(string queue, BasicDeliverEventArgs delivery, AmqpTcpEndpoint? broker)
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
            activity.SetTag("messaging.rabbitmq.message.delivery_tag", delivery.DeliveryTag);
            activity.SetTag("messaging.rabbitmq.destination.routing_key", SafeText.Escape(delivery.RoutingKey, 256));
            if (broker is not null)
            {
                activity.SetTag("server.address", broker.HostName);
                activity.SetTag("server.port", broker.Port);
            }
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
            activity.SetTag("error.type", disposition is Disposition.Answer { Result.Error: { } error } ? error.Class : OutcomeName(disposition.Outcome));
        }
    }

    public static void ProcessFailed(Activity? activity, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        activity?.SetStatus(ActivityStatusCode.Error, exception.GetType().Name);
        activity?.SetTag("error.type", exception.GetType().FullName);
    }

    /// <summary>The client span of one job's LLM call (all its attempts).</summary>
    public Activity? StartChat(ChatCompletionRequest request, Uri? server, string provider = ProviderName)
    {
        ArgumentNullException.ThrowIfNull(request);
        var activity = ActivitySource.StartActivity($"chat {request.Model}", ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("gen_ai.operation.name", "chat");
            activity.SetTag("gen_ai.provider.name", provider);
            activity.SetTag("gen_ai.request.model", request.Model);
            if (server is not null)
            {
                activity.SetTag("server.address", server.Host);
                activity.SetTag("server.port", server.Port);
            }

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

    public void ChatSucceeded(Activity? activity, ChatCompletion completion, string model, Uri? server, TimeSpan elapsed, string provider = ProviderName)
    {
        ArgumentNullException.ThrowIfNull(completion);
        if (activity is not null)
        {
            // The provider that answered: after a fallback, not necessarily the one the span started with.
            activity.SetTag("gen_ai.provider.name", provider);
            activity.SetTag("gen_ai.response.model", completion.Model);
            activity.SetTag("gen_ai.response.id", completion.Id);
            activity.SetTag("gen_ai.response.finish_reasons", completion.Choices.Select(c => c.FinishReason ?? "").ToArray());
            if (completion.Usage is { } usage)
            {
                activity.SetTag("gen_ai.usage.input_tokens", usage.PromptTokens);
                activity.SetTag("gen_ai.usage.output_tokens", usage.CompletionTokens);
            }
        }

        var tags = OperationTags(provider, model, completion.Model, server, errorType: null);
        _operationDuration.Record(elapsed.TotalSeconds, tags);
        if (completion.TimeToFirstToken is { } ttft)
        {
            _timeToFirstChunk.Record(ttft.TotalSeconds, tags);
            // At the moment itself (the span covers every attempt, so its start is no reference).
            activity?.AddEvent(new ActivityEvent("gen_ai.first_token", completion.FirstTokenAt ?? DateTimeOffset.UtcNow,
                new ActivityTagsCollection { ["gen_ai.client.operation.time_to_first_chunk"] = ttft.TotalSeconds }));
        }

        if (completion.Usage is { } used)
        {
            var input = OperationTags(provider, model, completion.Model, server, errorType: null);
            input.Add("gen_ai.token.type", "input");
            _tokens.Record(used.PromptTokens, input);
            var output = OperationTags(provider, model, completion.Model, server, errorType: null);
            output.Add("gen_ai.token.type", "output");
            _tokens.Record(used.CompletionTokens, output);
        }
    }

    public void ChatFailed(Activity? activity, string model, Uri? server, TimeSpan elapsed, string errorType, int? statusCode = null, string provider = ProviderName)
    {
        _operationDuration.Record(elapsed.TotalSeconds, OperationTags(provider, model, null, server, errorType));
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

    private static TagList OperationTags(string provider, string model, string? responseModel, Uri? server, string? errorType)
    {
        var tags = new TagList
        {
            { "gen_ai.operation.name", "chat" },
            { "gen_ai.provider.name", provider },
            { "gen_ai.request.model", model },
        };
        if (responseModel is not null)
        {
            tags.Add("gen_ai.response.model", responseModel);
        }

        if (server is not null)
        {
            tags.Add("server.address", server.Host);
            tags.Add("server.port", server.Port);
        }

        if (errorType is not null)
        {
            tags.Add("error.type", errorType);
        }

        return tags;
    }

    public static string OutcomeName(JobOutcome outcome) => outcome switch
    {
        JobOutcome.Succeeded => "succeeded",
        JobOutcome.Failed => "failed",
        JobOutcome.DeadLettered => "dead_lettered",
        JobOutcome.Delayed => "delayed",
        JobOutcome.Cancelled => "cancelled",
        _ => "requeued",
    };

    public void Dispose()
    {
        ActivitySource.Dispose();
        _meter.Dispose();
    }
}
