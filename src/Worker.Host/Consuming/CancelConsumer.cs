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
/// This worker's queue on the control exchange (exclusive, auto-delete: it lives as long as the worker's connection),
/// bound with <c>cancel</c>. It only reads and dispatches: each request goes to the <see cref="CancelLedger"/>, which
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

    // Named by us, not by the server: recovery re-declares it under the same name, and we bind it again (the
    // connection's topology recovery leaves bindings alone).
    private readonly string _queue;
    private IChannel? _channel;
    private volatile bool _listening;

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
        _queue = $"{_rabbit.ControlExchange}.worker-{Guid.NewGuid():N}";
    }

    /// <summary>True once the queue is bound and consumed (cancel requests published from now on are heard).</summary>
    public bool IsListening => _listening;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await _broker.ExecuteAsync(static async (consumer, token) => await consumer.ListenAsync(token), this, stoppingToken);
            _listening = true;
            LogListening(_logger, _rabbit.ControlExchange, _queue);
            await Task.Delay(Timeout.InfiniteTimeSpan, _time, stoppingToken);
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
        await channel.QueueDeclareAsync(_queue, durable: false, exclusive: true, autoDelete: true, cancellationToken: cancellationToken);
        await channel.QueueBindAsync(_queue, _rabbit.ControlExchange, CancelRequest.RoutingKey, cancellationToken: cancellationToken);
        connection.RecoverySucceededAsync += OnRecoveredAsync;
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += OnReceivedAsync;
        // Auto-ack: a cancel request is worth nothing once this worker is gone; the others have their own copies.
        await channel.BasicConsumeAsync(_queue, autoAck: true, consumer, cancellationToken);
    }

    private async Task OnRecoveredAsync(object sender, AsyncEventArgs args)
    {
        if (_channel is not { } channel)
        {
            return;
        }

        try
        {
            await channel.QueueBindAsync(_queue, _rabbit.ControlExchange, CancelRequest.RoutingKey, cancellationToken: args.CancellationToken);
        }
        catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.OperationInterruptedException or RabbitMQ.Client.Exceptions.AlreadyClosedException)
        {
            LogRebindFailed(_logger, ex.Message);
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
        _channel?.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 220, Level = LogLevel.Information, Message = "Listening for cancel requests on {Exchange} (queue {Queue})")]
    private static partial void LogListening(ILogger logger, string exchange, string queue);

    [LoggerMessage(EventId = 221, Level = LogLevel.Information, Message = "Cancel request for job {JobId}: {Decision}")]
    private static partial void LogCancel(ILogger logger, string jobId, CancelDecision decision);

    [LoggerMessage(EventId = 222, Level = LogLevel.Warning, Message = "Dropped a malformed control message (routing key {RoutingKey}): {Reason}")]
    private static partial void LogMalformed(ILogger logger, string routingKey, string reason);

    [LoggerMessage(EventId = 223, Level = LogLevel.Warning, Message = "Could not bind the control queue again after recovery: {Reason}")]
    private static partial void LogRebindFailed(ILogger logger, string reason);
}
