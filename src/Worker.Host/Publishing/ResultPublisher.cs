using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using Worker.Host.Configuration;
using Worker.Host.Contracts;

namespace Worker.Host.Publishing;

/// <summary>
/// Publishes results and dead letters on a confirm-tracking channel: each publish returns only once the broker has
/// confirmed it (or throws), under a timeout token (RabbitMQ.Client #1930), so the caller acks only what is safe.
/// </summary>
public sealed class ResultPublisher : IAsyncDisposable
{
    private readonly RabbitMqConnectionProvider _connections;
    private readonly RabbitMqOptions _options;
    private readonly WorkerOptions _worker;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private IChannel? _channel;

    public ResultPublisher(RabbitMqConnectionProvider connections, IOptions<RabbitMqOptions> options, IOptions<WorkerOptions> worker)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(worker);
        _connections = connections;
        _options = options.Value;
        _worker = worker.Value;
    }

    /// <summary>Publishes a result (persistent, correlation id = job id, trace context injected by RabbitMQ.Client's publisher span).</summary>
    public async Task PublishResultAsync(JobResult result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        var body = ResultSerializer.Serialize(result, _worker.BatchResultFormat == BatchResultFormat.Batch);
        var properties = new BasicProperties
        {
            Persistent = true,
            ContentType = "application/json",
            CorrelationId = result.Id,
            MessageId = Guid.NewGuid().ToString("N"),
            Timestamp = new AmqpTimestamp(result.CompletedAt.ToUnixTimeSeconds()),
            Headers = new Dictionary<string, object?>
            {
                ["x-job-status"] = result.Status,
                ["x-tenant"] = result.Tenant,
                ["x-contract-version"] = JobParser.ContractVersion,
            },
        };
        await PublishAsync(_options.ResultsExchange, result.RoutingKey, properties, body, cancellationToken);
    }

    /// <summary>Sends a poison job's original body to the dead-letter exchange with the reason in <c>x-reject-reason</c>.</summary>
    public async Task DeadLetterAsync(ReadOnlyMemory<byte> body, IReadOnlyBasicProperties original, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(original);
        var headers = new Dictionary<string, object?>();
        if (original.Headers is not null)
        {
            foreach (var (key, value) in original.Headers)
            {
                headers[key] = value;
            }
        }

        headers["x-reject-reason"] = reason.Length > 1000 ? reason[..1000] : reason;
        headers["x-original-queue"] = _options.JobsQueue;
        headers["x-rejected-at"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
        var properties = new BasicProperties
        {
            Persistent = true,
            ContentType = original.ContentType,
            CorrelationId = original.CorrelationId,
            MessageId = original.MessageId,
            Headers = headers,
        };
        await PublishAsync(_options.DeadLetterExchange, _options.JobsQueue, properties, body, cancellationToken);
    }

    private async Task PublishAsync(string exchange, string routingKey, BasicProperties properties, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var channel = await GetChannelAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.PublishTimeout);
        Activity.Current?.SetTag("messaging.destination.name", exchange);
        await channel.BasicPublishAsync(exchange, routingKey, mandatory: false, properties, body, timeout.Token);
    }

    private async Task<IChannel> GetChannelAsync(CancellationToken cancellationToken)
    {
        if (_channel is { IsOpen: true } open)
        {
            return open;
        }

        await _lock.WaitAsync(cancellationToken);
        try
        {
            if (_channel is { IsOpen: true } again)
            {
                return again;
            }

            var connection = await _connections.GetAsync(cancellationToken);
            if (!connection.IsOpen)
            {
                // The connection is recovering; its channels come back with it. The caller retries.
                throw new AlreadyClosedException(connection.CloseReason ?? new ShutdownEventArgs(ShutdownInitiator.Library, 0, "connection recovering"));
            }

            if (_channel is { } closed)
            {
                // Closed by a channel-level error while the connection stayed up: replace it.
                await closed.DisposeAsync();
            }

            _channel = await connection.CreateChannelAsync(
                new CreateChannelOptions(
                    publisherConfirmationsEnabled: true,
                    publisherConfirmationTrackingEnabled: true,
                    outstandingPublisherConfirmationsRateLimiter: new ThrottlingRateLimiter(_options.MaxOutstandingConfirms),
                    consumerDispatchConcurrency: 1),
                cancellationToken);
            return _channel;
        }
        finally
        {
            _lock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_channel is { } channel)
        {
            await channel.DisposeAsync();
        }

        _lock.Dispose();
    }
}
