using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Worker.Bench;

/// <summary>
/// The broker's own ceiling for the worker's message pattern: a minimal RabbitMQ.Client 7 loop that does what the
/// worker does around the LLM call and nothing else — consume a job (same prefetch, same dispatch concurrency),
/// publish a result of the same size on a confirm-tracking channel (same outstanding-confirm limit, same properties),
/// ack the job once the confirm is in.
/// </summary>
public sealed class RawCycle : IAsyncDisposable
{
    private readonly IConnection _connection;
    private readonly IChannel _consume;
    private readonly IChannel _publish;
    private readonly Topology _topology;
    private byte[] _result;

    private RawCycle(IConnection connection, IChannel consume, IChannel publish, Topology topology, byte[] result)
    {
        _connection = connection;
        _consume = consume;
        _publish = publish;
        _topology = topology;
        _result = result;
    }

    /// <summary>The result body to publish (sized like the worker's results once they are known).</summary>
    public void SetResultSize(int bytes) => _result = RawResult(bytes);

    public static async Task<RawCycle> StartAsync(string uri, Topology topology, int concurrency, int prefetch, int resultBytes)
    {
        var connection = await BrokerClient.Factory(uri, "bench-raw-cycle").CreateConnectionAsync();
        var consume = await connection.CreateChannelAsync(new CreateChannelOptions(false, false, null, (ushort)concurrency));
        await consume.BasicQosAsync(0, (ushort)prefetch, global: false);

        // ResultPublisher's channel: confirms tracked, 256 outstanding (RabbitMq:MaxOutstandingConfirms default).
        var publish = await connection.CreateChannelAsync(new CreateChannelOptions(true, true, new ThrottlingRateLimiter(256), 1));
        var cycle = new RawCycle(connection, consume, publish, topology, RawResult(resultBytes));
        var consumer = new AsyncEventingBasicConsumer(consume);
        consumer.ReceivedAsync += cycle.OnJobAsync;
        await consume.BasicConsumeAsync(topology.JobsQueue, autoAck: false, consumer);
        return cycle;
    }

    private async Task OnJobAsync(object sender, BasicDeliverEventArgs delivery)
    {
        var properties = new BasicProperties
        {
            Persistent = true,
            ContentType = "application/json",
            CorrelationId = "raw",
            MessageId = Guid.NewGuid().ToString("N"),
            Timestamp = new AmqpTimestamp(DateTimeOffset.UtcNow.ToUnixTimeSeconds()),
            Headers = new Dictionary<string, object?>
            {
                ["x-job-status"] = "succeeded",
                ["x-tenant"] = "default",
                ["x-contract-version"] = 1,
            },
        };
        await _publish.BasicPublishAsync(_topology.ResultsExchange, "completion.succeeded", mandatory: false, properties, _result);
        await _consume.BasicAckAsync(delivery.DeliveryTag, multiple: false);
    }

    /// <summary>A JSON body of exactly <paramref name="bytes"/> bytes that says "succeeded" (the collector checks it).</summary>
    private static byte[] RawResult(int bytes)
    {
        const string head = "{\"status\":\"succeeded\",\"pad\":\"";
        const string tail = "\"}";
        var pad = Math.Max(0, bytes - head.Length - tail.Length);
        return System.Text.Encoding.UTF8.GetBytes(head + new string('x', pad) + tail);
    }

    public async ValueTask DisposeAsync()
    {
        await _consume.DisposeAsync();
        await _publish.DisposeAsync();
        await _connection.DisposeAsync();
    }
}
