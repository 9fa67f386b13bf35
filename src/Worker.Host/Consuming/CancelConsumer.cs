using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Worker.Host.Cancelling;
using Worker.Host.Configuration;
using Worker.Host.Contracts;
using Worker.Host.Publishing;
using Worker.Host.Resilience;

namespace Worker.Host.Consuming;

/// <summary>
/// This worker's queue on the control exchange (server-named, exclusive, auto-delete: it lives as long as the worker's
/// connection), bound with <c>cancel</c>. It only reads and dispatches: each request goes to the <see cref="CancelLedger"/>, which
/// decides. Control input is never trusted: a malformed message is dropped with a log line.
/// </summary>
public sealed partial class CancelConsumer : BackgroundService
{
    private readonly RabbitMqConnectionProvider _connections;
    private readonly TopologyDeclarer _topology;
    private readonly CancelLedger _ledger;
    private readonly ResiliencePipeline _broker;
    private readonly RabbitMqOptions _rabbit;
    private readonly TimeProvider _time;
    private readonly ILogger<CancelConsumer> _logger;

    // Named by the server, so every connection gets a new one. A name of our own was re-declared by recovery on the
    // new node while the old, exclusive queue still belonged to the lost connection: RESOURCE_LOCKED on every attempt
    // until the cluster declared the lost node down (a paused node: 5-6 s more). Recovery re-declares it under a new
    // name (QueueNameChangedAfterRecovery) and moves our consumer there; we bind it again (the connection's topology
    // recovery leaves bindings alone).
    private volatile string _queue = "";
    private IChannel? _channel;
    private IChannel? _checkChannel;
    private bool _subscribed;
    private volatile bool _listening;

    // How often the queue's existence is checked (one passive declare): the longest a partition can leave cancel
    // requests unrouted, after the broker itself has settled.
    private static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(5);

    public CancelConsumer(
        RabbitMqConnectionProvider connections, TopologyDeclarer topology, CancelLedger ledger, ResiliencePipelineProvider<string> pipelines,
        IOptions<RabbitMqOptions> rabbit, ILogger<CancelConsumer> logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(pipelines);
        ArgumentNullException.ThrowIfNull(rabbit);
        (_connections, _topology, _ledger, _logger) = (connections, topology, ledger, logger);
        _broker = pipelines.GetPipeline(PipelineNames.Broker);
        _rabbit = rabbit.Value;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>True once the queue is bound and consumed (cancel requests published from now on are heard).</summary>
    public bool IsListening => _listening;

    /// <summary>The control queue's current (server-given) name.</summary>
    internal string QueueName => _queue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                await _broker.ExecuteAsync(static async (consumer, token) => await consumer.ListenAsync(token), this, stoppingToken);
                _listening = true;
                LogListening(_logger, _rabbit.ControlExchange, _queue);
                do
                {
                    await Task.Delay(CheckInterval, _time, stoppingToken);
                }
                while (!await IsQueueGoneAsync(stoppingToken));

                LogQueueGone(_logger, _queue);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task ListenAsync(CancellationToken cancellationToken)
    {
        if (_channel is { } failed)
        {
            _channel = null;
            await failed.DisposeAsync();
        }

        var connection = await _connections.GetAsync(cancellationToken);
        var channel = _channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        await _topology.DeclareControlAsync(channel, cancellationToken);
        var declared = await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true, cancellationToken: cancellationToken);
        _queue = declared.QueueName;
        await channel.QueueBindAsync(_queue, _rabbit.ControlExchange, CancelRequest.RoutingKey, cancellationToken: cancellationToken);
        if (!_subscribed)
        {
            _subscribed = true;
            connection.QueueNameChangedAfterRecoveryAsync += OnQueueRenamedAsync;
            connection.RecoverySucceededAsync += OnRecoveredAsync;
        }

        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += OnReceivedAsync;
        // Auto-ack: a cancel request is worth nothing once this worker is gone; the others have their own copies.
        await channel.BasicConsumeAsync(_queue, autoAck: true, consumer, cancellationToken);
    }

    /// <summary>
    /// True when the broker no longer knows the control queue (a passive declare answers 404). Seen on RabbitMQ 3.10
    /// after a partition healed: a node that woke from a pause deleted the exclusive queues of nodes it had taken for
    /// down, ours included, while our connection and consumer stayed up; nothing tells the consumer, and cancel
    /// requests found no route. Any other failure (the connection is recovering) is not an answer: asked again later.
    /// </summary>
    private async Task<bool> IsQueueGoneAsync(CancellationToken cancellationToken)
    {
        if (!_connections.IsConnected)
        {
            return false;
        }

        try
        {
            if (_checkChannel is not { IsOpen: true })
            {
                if (_checkChannel is { } closed)
                {
                    _checkChannel = null;
                    await closed.DisposeAsync();
                }

                var connection = await _connections.GetAsync(cancellationToken);
                _checkChannel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
            }

            await _checkChannel.QueueDeclarePassiveAsync(_queue, cancellationToken);
            return false;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException ex) when (ex.ShutdownReason?.ReplyCode == 404)
        {
            return true;
        }
        catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.OperationInterruptedException or RabbitMQ.Client.Exceptions.AlreadyClosedException
            or IOException or TimeoutException)
        {
            return false;
        }
    }

    private Task OnQueueRenamedAsync(object sender, QueueNameChangedAfterRecoveryEventArgs args)
    {
        if (args.NameBefore == _queue)
        {
            _queue = args.NameAfter;
            LogRenamed(_logger, args.NameBefore, args.NameAfter);
        }

        return Task.CompletedTask;
    }

    private async Task OnRecoveredAsync(object sender, AsyncEventArgs args)
    {
        if (_channel is not { } channel)
        {
            return;
        }

        var queue = _queue;
        try
        {
            await channel.QueueBindAsync(queue, _rabbit.ControlExchange, CancelRequest.RoutingKey, cancellationToken: args.CancellationToken);
            LogRebound(_logger, queue);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRebindFailed(_logger, queue, ex.GetType().Name, ex.Message);
        }
    }

    private async Task OnReceivedAsync(object sender, BasicDeliverEventArgs delivery)
    {
        // The body is valid only inside this handler: it is read here and not kept.
        if (!ControlSerializer.TryReadCancel(delivery.Body.Span, out var request, out var reason))
        {
            LogMalformed(_logger, delivery.RoutingKey, reason ?? "unreadable");
            return;
        }

        var decision = await _ledger.CancelAsync(request!.Id, _time.GetUtcNow());
        LogCancel(_logger, request.Id, decision);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _listening = false;
        await base.StopAsync(cancellationToken);
        if (_channel is { } channel)
        {
            try
            {
                await channel.CloseAsync(CancellationToken.None);
            }
            catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.AlreadyClosedException or RabbitMQ.Client.Exceptions.OperationInterruptedException or IOException)
            {
            }
        }
    }

    public override void Dispose()
    {
        _checkChannel?.Dispose();
        _channel?.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 220, Level = LogLevel.Information, Message = "Listening for cancel requests on {Exchange} (queue {Queue})")]
    private static partial void LogListening(ILogger logger, string exchange, string queue);

    [LoggerMessage(EventId = 221, Level = LogLevel.Information, Message = "Cancel request for job {JobId}: {Decision}")]
    private static partial void LogCancel(ILogger logger, string jobId, CancelDecision decision);

    [LoggerMessage(EventId = 222, Level = LogLevel.Warning, Message = "Dropped a malformed control message (routing key {RoutingKey}): {Reason}")]
    private static partial void LogMalformed(ILogger logger, string routingKey, string reason);

    [LoggerMessage(EventId = 223, Level = LogLevel.Warning, Message = "Could not bind the control queue {Queue} again after recovery: {Error}: {Reason}")]
    private static partial void LogRebindFailed(ILogger logger, string queue, string error, string reason);

    [LoggerMessage(EventId = 225, Level = LogLevel.Information, Message = "Control queue {Queue} bound again after recovery")]
    private static partial void LogRebound(ILogger logger, string queue);

    [LoggerMessage(EventId = 224, Level = LogLevel.Information, Message = "Control queue re-declared after recovery: {Before} -> {After}")]
    private static partial void LogRenamed(ILogger logger, string before, string after);

    [LoggerMessage(EventId = 226, Level = LogLevel.Warning, Message = "Control queue {Queue} is gone although the connection is up (a partition healed?); declaring a new one")]
    private static partial void LogQueueGone(ILogger logger, string queue);
}
