using System.Text;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using Worker.Testing;

namespace Worker.Host.Tests.Broker;

/// <summary>
/// Proves the test broker works the way the worker uses RabbitMQ: quorum queues, persistent messages,
/// publisher confirms, manual acks, and a broker restart.
/// </summary>
[Collection(RabbitMqBrokerCollection.Name)]
public sealed class BrokerSmokeTests(RabbitMqBrokerFixture broker)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Confirmed_persistent_message_on_quorum_queue_is_consumed_and_acked()
    {
        using var cts = new CancellationTokenSource(Timeout);
        var ct = cts.Token;
        var queue = broker.UniqueName("smoke");
        var body = Encoding.UTF8.GetBytes($"hello {queue}");

        await using var connection = await broker.CreateConnectionFactory().CreateConnectionAsync(ct);
        await using var channel = await OpenConfirmingChannelAsync(connection, ct);
        await DeclareQuorumQueueAsync(channel, queue, ct);
        try
        {
            // With confirmation tracking, this returns once the broker confirmed the message
            // (and throws PublishException on a nack or, being mandatory, when it is unroutable).
            await PublishPersistentAsync(channel, queue, body, ct);

            var received = new TaskCompletionSource<(byte[] Body, bool Persistent)>(
                TaskCreationOptions.RunContinuationsAsynchronously);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += async (_, delivery) =>
            {
                // The body buffer is only valid inside the handler: copy it before acking.
                var copy = delivery.Body.ToArray();
                await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false, ct);
                received.TrySetResult((copy, delivery.BasicProperties.Persistent));
            };
            var consumerTag = await channel.BasicConsumeAsync(queue, autoAck: false, consumer, ct);

            var message = await received.Task.WaitAsync(ct);
            await channel.BasicCancelAsync(consumerTag, cancellationToken: ct);

            Assert.Equal(body, message.Body);
            Assert.True(message.Persistent);
            var state = await channel.QueueDeclarePassiveAsync(queue, ct);
            Assert.Equal(0u, state.MessageCount);
        }
        finally
        {
            await channel.QueueDeleteAsync(queue, cancellationToken: CancellationToken.None);
        }
    }

    [Fact]
    public async Task Broker_restart_keeps_the_address_and_the_persisted_message()
    {
        // An external broker (RABBITMQ_URI) cannot be restarted: fail loudly instead of skipping, so a run
        // without restart coverage never looks green. (StopBrokerAsync would throw NotSupportedException too.)
        Assert.True(
            broker.IsContainer,
            $"This test restarts the broker, which needs a container broker; {TestEnvironment.RabbitMqUriVariable} points " +
            $"at an external broker. Unset {TestEnvironment.RabbitMqUriVariable} and run scripts/test.sh.");

        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = cts.Token;
        var queue = broker.UniqueName("restart");
        var body = Encoding.UTF8.GetBytes($"survives restart {queue}");
        var uriBefore = broker.AmqpUri;

        await using (var connection = await broker.CreateConnectionFactory().CreateConnectionAsync(ct))
        await using (var channel = await OpenConfirmingChannelAsync(connection, ct))
        {
            await DeclareQuorumQueueAsync(channel, queue, ct);
            await PublishPersistentAsync(channel, queue, body, ct);
        }

        await broker.StopBrokerAsync(ct);

        var whileStopped = broker.CreateConnectionFactory();
        whileStopped.AutomaticRecoveryEnabled = false;
        whileStopped.RequestedConnectionTimeout = TimeSpan.FromSeconds(3);
        await Assert.ThrowsAsync<BrokerUnreachableException>(() => whileStopped.CreateConnectionAsync(ct));

        await broker.StartBrokerAsync(ct);

        Assert.Equal(uriBefore, broker.AmqpUri);
        await using var after = await broker.CreateConnectionFactory().CreateConnectionAsync(ct);
        await using var afterChannel = await after.CreateChannelAsync(cancellationToken: ct);
        try
        {
            var result = await afterChannel.BasicGetAsync(queue, autoAck: false, ct);
            Assert.NotNull(result);
            Assert.Equal(body, result.Body.ToArray());
            await afterChannel.BasicAckAsync(result.DeliveryTag, multiple: false, ct);
        }
        finally
        {
            await afterChannel.QueueDeleteAsync(queue, cancellationToken: CancellationToken.None);
        }
    }

    private static Task<IChannel> OpenConfirmingChannelAsync(IConnection connection, CancellationToken ct) =>
        connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true),
            ct);

    private static Task<QueueDeclareOk> DeclareQuorumQueueAsync(IChannel channel, string queue, CancellationToken ct) =>
        channel.QueueDeclareAsync(
            queue,
            durable: true,
            exclusive: false,
            autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-queue-type"] = "quorum" },
            cancellationToken: ct);

    private static async Task PublishPersistentAsync(IChannel channel, string queue, byte[] body, CancellationToken ct)
    {
        var properties = new BasicProperties
        {
            Persistent = true,
            ContentType = "text/plain",
            MessageId = Guid.NewGuid().ToString("N"),
        };
        await channel.BasicPublishAsync(
            exchange: string.Empty,
            routingKey: queue,
            mandatory: true,
            basicProperties: properties,
            body: body,
            cancellationToken: ct);
    }
}
