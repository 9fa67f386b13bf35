using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using Worker.Host.Configuration;

namespace Worker.Host.Publishing;

/// <summary>Declares the jobs queue, its dead-letter exchange and queue, and the results exchange (and queue). Idempotent.</summary>
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

        await channel.ExchangeDeclareAsync(_options.ResultsExchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: cancellationToken);
        if (!string.IsNullOrEmpty(_options.ResultsQueue))
        {
            await channel.QueueDeclareAsync(_options.ResultsQueue, durable: true, exclusive: false, autoDelete: false,
                arguments: QueueArguments(withDeadLettering: false), cancellationToken: cancellationToken);
            await channel.QueueBindAsync(_options.ResultsQueue, _options.ResultsExchange, routingKey: "#", cancellationToken: cancellationToken);
        }
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
