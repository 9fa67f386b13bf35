using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using Worker.Host.Configuration;
using Worker.Host.Contracts;
using Worker.Host.Handling;
using Worker.Host.Intake;
using Worker.Host.Publishing;
using Worker.Host.Resilience;
using Worker.Host.Telemetry;

namespace Worker.Host.Consuming;

/// <summary>
/// The RabbitMQ side of a job's path, and nothing else: the consumer channel (dispatch concurrency = C, prefetch ≥ C),
/// dispatch of each delivery to the <see cref="JobHandler"/>, settlement of its disposition, stopping and resuming
/// consumption when the <see cref="IntakeController"/> pauses, and the drain on stop.
/// </summary>
public sealed partial class RabbitMqJobSource : BackgroundService
{
    private readonly RabbitMqConnectionProvider _connections;
    private readonly TopologyDeclarer _topology;
    private readonly JobHandler _handler;
    private readonly IntakeController _intake;
    private readonly Settlement _settlement;
    private readonly WorkerTelemetry _telemetry;
    private readonly JobAgeTelemetry _jobAge;
    private readonly ResiliencePipeline _broker;
    private readonly WorkerOptions _worker;
    private readonly RabbitMqOptions _rabbit;
    private readonly TimeProvider _time;
    private readonly ILogger<RabbitMqJobSource> _logger;
    private readonly CancellationTokenSource _jobs = new();
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IConnection? _connection;
    private IChannel? _channel;
    private AsyncEventingBasicConsumer? _consumer;
    private string? _consumerTag;
    private int _inFlight;
    private volatile bool _stopping;

    public RabbitMqJobSource(
        RabbitMqConnectionProvider connections, TopologyDeclarer topology, JobHandler handler, IntakeController intake, ResultPublisher publisher,
        WorkerTelemetry telemetry, JobAgeTelemetry jobAge, ResiliencePipelineProvider<string> pipelines, IOptions<WorkerOptions> worker, IOptions<RabbitMqOptions> rabbit,
        ILogger<RabbitMqJobSource> logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(pipelines);
        ArgumentNullException.ThrowIfNull(worker);
        ArgumentNullException.ThrowIfNull(rabbit);
        (_connections, _topology, _handler, _intake, _telemetry, _jobAge, _logger) = (connections, topology, handler, intake, telemetry, jobAge, logger);
        _settlement = new Settlement(publisher, logger);
        _broker = pipelines.GetPipeline(PipelineNames.Broker);
        _worker = worker.Value;
        _rabbit = rabbit.Value;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Jobs being processed now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>True while a consumer is registered on an open channel (false while paused, recovering or stopping).</summary>
    public bool IsConsuming => Volatile.Read(ref _consumerTag) is not null && _channel is { IsOpen: true } && !_stopping;

    /// <summary>True while intake is paused for an outage.</summary>
    public bool Paused => _intake.IsPaused;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await _broker.ExecuteAsync(static async (source, token) => await source.StartConsumingAsync(token), this, stoppingToken);
        LogStarted(_logger, _rabbit.JobsQueue, _worker.Concurrency, _worker.EffectivePrefetch);
        while (!stoppingToken.IsCancellationRequested)
        {
            await _intake.WaitForPauseAsync(stoppingToken);
            await CancelConsumerAsync(stoppingToken);
            await _intake.WaitForResumeAsync(stoppingToken);
            if (_stopping)
            {
                break;
            }

            _consumerTag = await _channel!.BasicConsumeAsync(_rabbit.JobsQueue, autoAck: false, _consumer!, stoppingToken);
        }
    }

    /// <summary>Declares the topology, opens the consumer channel and starts consuming (one attempt; the broker pipeline retries).</summary>
    private async Task StartConsumingAsync(CancellationToken cancellationToken)
    {
        if (_channel is { } failed)
        {
            _channel = null;
            await failed.DisposeAsync();
        }

        var connection = _connection = await _connections.GetAsync(cancellationToken);
        await _topology.DeclareAsync(connection, cancellationToken);
        _channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(
                publisherConfirmationsEnabled: false,
                publisherConfirmationTrackingEnabled: false,
                outstandingPublisherConfirmationsRateLimiter: null,
                consumerDispatchConcurrency: (ushort)Math.Min(_worker.Concurrency, ushort.MaxValue)),
            cancellationToken);
        await _channel.BasicQosAsync(0, (ushort)_worker.EffectivePrefetch, global: false, cancellationToken);
        _consumer = new AsyncEventingBasicConsumer(_channel);
        _consumer.ReceivedAsync += OnReceivedAsync;
        _consumerTag = await _channel.BasicConsumeAsync(_rabbit.JobsQueue, autoAck: false, _consumer, cancellationToken);
    }

    private async Task CancelConsumerAsync(CancellationToken cancellationToken)
    {
        if (_channel is { } channel && Interlocked.Exchange(ref _consumerTag, null) is { } tag)
        {
            try
            {
                await channel.BasicCancelAsync(tag, noWait: false, cancellationToken);
            }
            catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException)
            {
                // The broker connection is down as well; recovery re-registers the consumer, and deliveries that
                // arrive while intake is paused are requeued unhandled.
            }
        }
    }

    private async Task OnReceivedAsync(object sender, BasicDeliverEventArgs delivery)
    {
        var channel = ((AsyncEventingBasicConsumer)sender).Channel;
        if (_stopping || !_intake.TryAdmit().Admitted)
        {
            // Buffered before the pause or the stop: hand it back untouched.
            await Settlement.NackAsync(channel, delivery.DeliveryTag, requeue: true);
            return;
        }

        Interlocked.Increment(ref _inFlight);
        _telemetry.JobStarted();
        using var held = _jobAge.Hold(Settlement.EnqueuedAt(delivery.BasicProperties));
        var started = _time.GetTimestamp();
        var outcome = JobOutcome.Requeued;
        var attempts = 0;
        using var activity = _telemetry.StartProcess(_rabbit.JobsQueue, delivery, _connection?.Endpoint);
        try
        {
            // The body is only valid inside this handler: the handler and the settlement both finish before we return.
            var disposition = await _handler.HandleAsync(
                new JobDelivery(delivery.Body, delivery.Redelivered, started, Settlement.EnqueuedAt(delivery.BasicProperties), DelayQueues.ReadAttempts(delivery.BasicProperties.Headers)),
                _jobs.Token);
            WorkerTelemetry.ProcessHandled(activity, disposition);
            attempts = disposition switch
            {
                Disposition.Answer answer => answer.Result.Attempts,
                Disposition.Delay delayed => delayed.Attempts,
                _ => 0,
            };
            outcome = await _settlement.SettleAsync(channel, delivery, disposition, _jobs.Token);
        }
        catch (OperationCanceledException) when (_jobs.IsCancellationRequested)
        {
            LogDrainRequeue(_logger, delivery.DeliveryTag);
            await Settlement.NackAsync(channel, delivery.DeliveryTag, requeue: true);
        }
        catch (Exception ex) when (BrokerFailures.IsTransient(ex) || ex is OperationCanceledException)
        {
            // Not confirmed (broker gone or publish timed out): requeue so the job is answered later.
            WorkerTelemetry.ProcessFailed(activity, ex);
            LogPublishFailed(_logger, delivery.DeliveryTag, ex.Message);
            await Settlement.NackAsync(channel, delivery.DeliveryTag, requeue: true);
        }
        catch (Exception ex)
        {
            // Settling itself failed for a reason of its own: reject without requeue, so the queue's dead-letter
            // exchange keeps the job (with its x-death record) instead of it coming round again.
            WorkerTelemetry.ProcessFailed(activity, ex);
            LogSettleFailed(_logger, ex, delivery.DeliveryTag);
            outcome = JobOutcome.DeadLettered;
            await Settlement.NackAsync(channel, delivery.DeliveryTag, requeue: false);
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

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _stopping = true;
        try
        {
            await CancelConsumerAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
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

    [LoggerMessage(EventId = 204, Level = LogLevel.Warning, Message = "Result for delivery {DeliveryTag} not confirmed ({Reason}); job requeued")]
    private static partial void LogPublishFailed(ILogger logger, ulong deliveryTag, string reason);

    [LoggerMessage(EventId = 212, Level = LogLevel.Error, Message = "Settling delivery {DeliveryTag} failed; rejected to the dead-letter exchange")]
    private static partial void LogSettleFailed(ILogger logger, Exception exception, ulong deliveryTag);

    [LoggerMessage(EventId = 205, Level = LogLevel.Information, Message = "Stopping: draining {InFlight} job(s) for up to {Seconds} s")]
    private static partial void LogDraining(ILogger logger, int inFlight, double seconds);

    [LoggerMessage(EventId = 206, Level = LogLevel.Information, Message = "Drain time is up: delivery {DeliveryTag} requeued")]
    private static partial void LogDrainRequeue(ILogger logger, ulong deliveryTag);
}
