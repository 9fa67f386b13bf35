using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using Worker.Host.Configuration;
using Worker.Host.Contracts;
using Worker.Host.Processing;
using Worker.Host.Publishing;
using Worker.Host.Telemetry;

namespace Worker.Host.Consuming;

/// <summary>
/// Takes jobs from the jobs queue with at most <c>Worker:Concurrency</c> in flight (the channel's dispatch concurrency;
/// prefetch ≥ C), processes each inside its delivery handler, and acks only after the result is confirmed. Pauses intake
/// during an outage and resumes when a probe succeeds. On stop: cancels the consumer, lets jobs in flight finish up to
/// <c>Worker:DrainTimeout</c>, requeues the rest.
/// </summary>
public sealed partial class JobConsumer : BackgroundService
{
    private readonly RabbitMqConnectionProvider _connections;
    private readonly TopologyDeclarer _topology;
    private readonly ResultPublisher _publisher;
    private readonly JobProcessor _processor;
    private readonly OutageMonitor _outages;
    private readonly OutageProbe _probe;
    private readonly WorkerTelemetry _telemetry;
    private readonly WorkerOptions _worker;
    private readonly RabbitMqOptions _rabbit;
    private readonly ResilienceOptions _resilience;
    private readonly JobParser _parser;
    private readonly TimeProvider _time;
    private readonly ILogger<JobConsumer> _logger;
    private readonly CancellationTokenSource _jobs = new();
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IChannel? _channel;
    private string? _consumerTag;
    private int _inFlight;
    private volatile bool _stopping;

    public JobConsumer(
        RabbitMqConnectionProvider connections,
        TopologyDeclarer topology,
        ResultPublisher publisher,
        JobProcessor processor,
        OutageMonitor outages,
        OutageProbe probe,
        WorkerTelemetry telemetry,
        IOptions<WorkerOptions> worker,
        IOptions<RabbitMqOptions> rabbit,
        IOptions<ResilienceOptions> resilience,
        ILogger<JobConsumer> logger,
        TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(worker);
        ArgumentNullException.ThrowIfNull(rabbit);
        ArgumentNullException.ThrowIfNull(resilience);
        _connections = connections;
        _topology = topology;
        _publisher = publisher;
        _processor = processor;
        _outages = outages;
        _probe = probe;
        _telemetry = telemetry;
        _worker = worker.Value;
        _rabbit = rabbit.Value;
        _resilience = resilience.Value;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _parser = new JobParser(_worker.MaxJobBytes, _worker.DefaultTenant, _worker.DefaultStream);
    }

    /// <summary>Jobs being processed now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>True while intake is paused for an outage.</summary>
    public bool Paused { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var consumer = await StartConsumingAsync(stoppingToken);
        LogStarted(_logger, _rabbit.JobsQueue, _worker.Concurrency, _worker.EffectivePrefetch);

        while (!stoppingToken.IsCancellationRequested)
        {
            var reason = await _outages.WaitAsync(stoppingToken);
            await PauseAsync(reason, stoppingToken);
            await _probe.WaitUntilHealthyAsync(_resilience.BreakerBreakDuration, stoppingToken);
            _outages.Recovered();
            if (_stopping)
            {
                break;
            }

            _consumerTag = await _channel!.BasicConsumeAsync(_rabbit.JobsQueue, autoAck: false, consumer, stoppingToken);
            Paused = false;
            LogResumed(_logger);
        }
    }

    /// <summary>Declares the topology and starts the consumer, retrying while the broker is not ready for it.</summary>
    private async Task<AsyncEventingBasicConsumer> StartConsumingAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var connection = await _connections.GetAsync(cancellationToken);
                await _topology.DeclareAsync(connection, cancellationToken);
                _channel = await connection.CreateChannelAsync(
                    new CreateChannelOptions(
                        publisherConfirmationsEnabled: false,
                        publisherConfirmationTrackingEnabled: false,
                        outstandingPublisherConfirmationsRateLimiter: null,
                        consumerDispatchConcurrency: (ushort)Math.Min(_worker.Concurrency, ushort.MaxValue)),
                    cancellationToken);
                await _channel.BasicQosAsync(0, (ushort)_worker.EffectivePrefetch, global: false, cancellationToken);
                var consumer = new AsyncEventingBasicConsumer(_channel);
                consumer.ReceivedAsync += OnReceivedAsync;
                _consumerTag = await _channel.BasicConsumeAsync(_rabbit.JobsQueue, autoAck: false, consumer, cancellationToken);
                return consumer;
            }
            catch (Exception ex) when (ex is OperationInterruptedException or AlreadyClosedException && attempt < 60)
            {
                // E.g. a quorum queue declared a moment ago without a leader yet, or a broker restarting.
                LogStartRetry(_logger, attempt, ex.Message);
                if (_channel is { } failed)
                {
                    _channel = null;
                    await failed.DisposeAsync();
                }

                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(250 * attempt, 5000)), cancellationToken);
            }
        }
    }

    private async Task PauseAsync(string reason, CancellationToken cancellationToken)
    {
        Paused = true;
        LogPaused(_logger, reason);
        if (_channel is { } channel && _consumerTag is { } tag)
        {
            _consumerTag = null;
            try
            {
                await channel.BasicCancelAsync(tag, noWait: false, cancellationToken);
            }
            catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException)
            {
                // The broker connection is down as well; recovery will re-register the consumer, and the next
                // delivery during the outage is requeued by the handler.
            }
        }
    }

    private async Task OnReceivedAsync(object sender, BasicDeliverEventArgs delivery)
    {
        var channel = ((AsyncEventingBasicConsumer)sender).Channel;
        if (_stopping || Paused)
        {
            // Already buffered before the cancel; hand it back untouched.
            await SettleAsync(channel, delivery.DeliveryTag, requeue: true);
            return;
        }

        Interlocked.Increment(ref _inFlight);
        _telemetry.JobStarted();
        var started = _time.GetTimestamp();
        var outcome = "requeued";
        var attempts = 0;
        using var activity = StartProcessActivity(delivery);
        try
        {
            (outcome, attempts) = await HandleAsync(channel, delivery, started, _jobs.Token);
        }
        catch (OperationCanceledException) when (_jobs.IsCancellationRequested)
        {
            LogDrainRequeue(_logger, delivery.DeliveryTag);
            await SettleAsync(channel, delivery.DeliveryTag, requeue: true);
        }
        catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or PublishException or OperationCanceledException or IOException)
        {
            // Result not confirmed (broker gone or publish timed out): requeue so the job is answered later.
            activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            LogPublishFailed(_logger, delivery.DeliveryTag, ex.Message);
            await SettleAsync(channel, delivery.DeliveryTag, requeue: true);
        }
        catch (Exception ex)
        {
            // A bug must not leave the delivery unacked forever or stop the consumer: requeue it; a job that keeps
            // failing this way is dead-lettered by the queue's delivery limit.
            activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            LogUnexpected(_logger, ex, delivery.DeliveryTag);
            await SettleAsync(channel, delivery.DeliveryTag, requeue: true);
        }
        finally
        {
            _telemetry.JobEnded(outcome, _time.GetElapsedTime(started), attempts);
            if (Interlocked.Decrement(ref _inFlight) == 0 && _stopping)
            {
                _idle.TrySetResult();
            }
        }
    }

    private async Task<(string Outcome, int Attempts)> HandleAsync(IChannel channel, BasicDeliverEventArgs delivery, long started, CancellationToken cancellationToken)
    {
        // The body is only valid inside this handler: everything that reads it happens before we return.
        var parsed = _parser.Parse(delivery.Body);
        switch (parsed.Outcome)
        {
            case JobParseOutcome.Poison:
                LogPoison(_logger, delivery.DeliveryTag, parsed.Id, parsed.Reason!);
                await WithPublishRetryAsync(ct => _publisher.DeadLetterAsync(delivery.Body, delivery.BasicProperties, parsed.Reason!, ct), cancellationToken);
                if (parsed.Id is { } poisonId)
                {
                    var rejected = _processor.Rejected(poisonId, parsed.Tenant ?? _worker.DefaultTenant, JobForm.Native, "Poison", parsed.Reason!, delivery.Redelivered, started);
                    await WithPublishRetryAsync(ct => _publisher.PublishResultAsync(rejected, ct), cancellationToken);
                }

                await AckAsync(channel, delivery.DeliveryTag);
                return ("poison", 0);

            case JobParseOutcome.InvalidParameters:
                var invalid = _processor.Rejected(parsed.Id!, parsed.Tenant!, JobForm.Native, "InvalidRequest", parsed.Reason!, delivery.Redelivered, started);
                await WithPublishRetryAsync(ct => _publisher.PublishResultAsync(invalid, ct), cancellationToken);
                await AckAsync(channel, delivery.DeliveryTag);
                return ("failed", 0);

            default:
                var job = parsed.Job!;
                Activity.Current?.SetTag("messaging.message.conversation_id", job.Id);
                var result = await _processor.ProcessAsync(job, delivery.Redelivered, started, cancellationToken);
                if (result.Requeue)
                {
                    await SettleAsync(channel, delivery.DeliveryTag, requeue: true);
                    return ("requeued", 0);
                }

                await WithPublishRetryAsync(ct => _publisher.PublishResultAsync(result.Result!, ct), cancellationToken);
                await AckAsync(channel, delivery.DeliveryTag);
                return (result.Result!.Status, result.Result.Attempts);
        }
    }

    /// <summary>Retries a publish through a broker blip (connection recovery) for up to twice the publish timeout.</summary>
    private async Task WithPublishRetryAsync(Func<CancellationToken, Task> publish, CancellationToken cancellationToken)
    {
        var deadline = _time.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            try
            {
                await publish(cancellationToken);
                return;
            }
            catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or PublishException
                && _time.GetElapsedTime(deadline) < _rabbit.PublishTimeout * 2 && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2000));
            }
        }
    }

    private Activity? StartProcessActivity(BasicDeliverEventArgs delivery)
    {
        var parent = AmqpTraceContext.Extract(delivery.BasicProperties.Headers);
        var activity = _telemetry.ActivitySource.StartActivity($"process {_rabbit.JobsQueue}", ActivityKind.Consumer, parent);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("messaging.system", "rabbitmq");
            activity.SetTag("messaging.operation.type", "process");
            activity.SetTag("messaging.operation.name", "process");
            activity.SetTag("messaging.destination.name", _rabbit.JobsQueue);
            activity.SetTag("messaging.consumer.group.name", _rabbit.JobsQueue);
            activity.SetTag("messaging.message.body.size", delivery.Body.Length);
            activity.SetTag("messaging.rabbitmq.delivery_tag", delivery.DeliveryTag);
            if (delivery.BasicProperties.MessageId is { } messageId)
            {
                activity.SetTag("messaging.message.id", messageId);
            }
        }

        return activity;
    }

    private async Task AckAsync(IChannel channel, ulong deliveryTag)
    {
        try
        {
            await channel.BasicAckAsync(deliveryTag, multiple: false, CancellationToken.None);
        }
        catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException)
        {
            // The channel died after the result was confirmed: the broker redelivers the job (marked redelivered)
            // and it is answered again. At-least-once, never lost.
            LogAckLost(_logger, deliveryTag, ex.Message);
        }
    }

    private async Task SettleAsync(IChannel channel, ulong deliveryTag, bool requeue)
    {
        try
        {
            await channel.BasicNackAsync(deliveryTag, multiple: false, requeue, CancellationToken.None);
        }
        catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException)
        {
            // Channel gone: the broker requeues every unacked delivery itself.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        if (_channel is { } channel && _consumerTag is { } tag)
        {
            try
            {
                await channel.BasicCancelAsync(tag, noWait: false, cancellationToken);
            }
            catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or OperationCanceledException)
            {
            }
        }

        if (InFlight > 0)
        {
            LogDraining(_logger, InFlight, _worker.DrainTimeout.TotalSeconds);
            using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            drain.CancelAfter(_worker.DrainTimeout);
            try
            {
                await _idle.Task.WaitAsync(drain.Token);
            }
            catch (OperationCanceledException)
            {
                // Drain time is up: cancel what is left; those handlers requeue their jobs.
                await _jobs.CancelAsync();
                await _idle.Task.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ContinueWith(static _ => { }, TaskScheduler.Default);
            }
        }

        await base.StopAsync(cancellationToken);
        if (_channel is { } open)
        {
            try
            {
                await open.CloseAsync(CancellationToken.None);
            }
            catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or IOException)
            {
            }
        }
    }

    public override void Dispose()
    {
        _channel?.Dispose();
        _jobs.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Consuming {Queue} with concurrency {Concurrency}, prefetch {Prefetch}")]
    private static partial void LogStarted(ILogger logger, string queue, int concurrency, int prefetch);

    [LoggerMessage(EventId = 209, Level = LogLevel.Error, Message = "Unexpected failure on delivery {DeliveryTag}; requeued")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, ulong deliveryTag);

    [LoggerMessage(EventId = 208, Level = LogLevel.Warning, Message = "Consumer start attempt {Attempt} failed, retrying: {Reason}")]
    private static partial void LogStartRetry(ILogger logger, int attempt, string reason);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "Intake paused: {Reason}")]
    private static partial void LogPaused(ILogger logger, string reason);

    [LoggerMessage(EventId = 202, Level = LogLevel.Information, Message = "Probe succeeded; intake resumed")]
    private static partial void LogResumed(ILogger logger);

    [LoggerMessage(EventId = 203, Level = LogLevel.Warning, Message = "Dead-lettered delivery {DeliveryTag} (job id {JobId}): {Reason}")]
    private static partial void LogPoison(ILogger logger, ulong deliveryTag, string? jobId, string reason);

    [LoggerMessage(EventId = 204, Level = LogLevel.Warning, Message = "Result for delivery {DeliveryTag} not confirmed ({Reason}); job requeued")]
    private static partial void LogPublishFailed(ILogger logger, ulong deliveryTag, string reason);

    [LoggerMessage(EventId = 205, Level = LogLevel.Information, Message = "Stopping: draining {InFlight} job(s) for up to {Seconds} s")]
    private static partial void LogDraining(ILogger logger, int inFlight, double seconds);

    [LoggerMessage(EventId = 206, Level = LogLevel.Information, Message = "Drain time is up: delivery {DeliveryTag} requeued")]
    private static partial void LogDrainRequeue(ILogger logger, ulong deliveryTag);

    [LoggerMessage(EventId = 207, Level = LogLevel.Warning, Message = "Ack for delivery {DeliveryTag} lost with the channel ({Reason}); the broker will redeliver it")]
    private static partial void LogAckLost(ILogger logger, ulong deliveryTag, string reason);
}
