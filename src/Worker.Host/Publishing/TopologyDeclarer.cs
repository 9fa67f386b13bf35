using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using Worker.Host.Configuration;

namespace Worker.Host.Publishing;

/// <summary>Declares the jobs queue, its dead-letter exchange and queue, the results exchange (and queue) and the control exchange. Idempotent.</summary>
public sealed class TopologyDeclarer
{
    private readonly RabbitMqOptions _options;

    public TopologyDeclarer(IOptions<RabbitMqOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
    }

    public async Task DeclareAsync(IConnection connection, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        await channel.ExchangeDeclareAsync(_options.DeadLetterExchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancellationToken);
        await channel.QueueDeclareAsync(_options.DeadLetterQueue, durable: true, exclusive: false, autoDelete: false,
            arguments: QueueArguments(withDeadLettering: false), cancellationToken: cancellationToken);
        await channel.QueueBindAsync(_options.DeadLetterQueue, _options.DeadLetterExchange, routingKey: "", cancellationToken: cancellationToken);

        await channel.QueueDeclareAsync(_options.JobsQueue, durable: true, exclusive: false, autoDelete: false,
            arguments: QueueArguments(withDeadLettering: true), cancellationToken: cancellationToken);

        foreach (var seconds in DelayQueues.TierSeconds)
        {
            await channel.QueueDeclareAsync(DelayQueues.Name(_options.JobsQueue, seconds), durable: true, exclusive: false, autoDelete: false,
                arguments: DelayArguments(seconds), cancellationToken: cancellationToken);
        }

        await channel.ExchangeDeclareAsync(_options.ResultsExchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: cancellationToken);
        if (!string.IsNullOrEmpty(_options.ResultsQueue))
        {
            await channel.QueueDeclareAsync(_options.ResultsQueue, durable: true, exclusive: false, autoDelete: false,
                arguments: QueueArguments(withDeadLettering: false), cancellationToken: cancellationToken);
            await channel.QueueBindAsync(_options.ResultsQueue, _options.ResultsExchange, routingKey: "#", cancellationToken: cancellationToken);
        }

        await DeclareControlAsync(channel, cancellationToken);
    }

    /// <summary>The control exchange (topic): cancel requests. Each worker binds its own queue to it (<c>CancelConsumer</c>).</summary>
    public async Task DeclareControlAsync(IChannel channel, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        await channel.ExchangeDeclareAsync(_options.ControlExchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: cancellationToken);
    }

    /// <summary>A delay tier: messages expire after its TTL into the jobs queue (through the default exchange).</summary>
    private Dictionary<string, object?> DelayArguments(int seconds)
    {
        var arguments = new Dictionary<string, object?>
        {
            ["x-queue-type"] = _options.QueueType,
            ["x-message-ttl"] = seconds * 1000,
            ["x-dead-letter-exchange"] = "",
            ["x-dead-letter-routing-key"] = _options.JobsQueue,
        };
        if (_options.QueueType == "quorum")
        {
            // At-least-once dead-lettering: a job never vanishes between the delay queue and the jobs queue.
            arguments["x-dead-letter-strategy"] = "at-least-once";
            arguments["x-overflow"] = "reject-publish";
        }

        return arguments;
    }

    private Dictionary<string, object?> QueueArguments(bool withDeadLettering)
    {
        var arguments = new Dictionary<string, object?> { ["x-queue-type"] = _options.QueueType };
        if (withDeadLettering)
        {
            arguments["x-dead-letter-exchange"] = _options.DeadLetterExchange;
            if (_options.QueueType == "quorum")
            {
                arguments["x-delivery-limit"] = _options.DeliveryLimit;
            }
        }

        return arguments;
    }
}
