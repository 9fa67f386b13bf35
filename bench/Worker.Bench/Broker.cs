using System.Diagnostics;
using System.Text;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Worker.Bench;

/// <summary>Queue and exchange names of one side (the worker's or the raw cycle's).</summary>
public sealed record Topology(string Prefix)
{
    public string JobsQueue => Prefix + ".jobs";
    public string DeadLetterExchange => Prefix + ".dlx";
    public string DeadLetterQueue => Prefix + ".dead";
    public string ResultsExchange => Prefix + ".results";
    public string ResultsQueue => Prefix + ".results";
}

/// <summary>
/// The bench's side of the broker: a producer of jobs (persistent, publisher confirms, like the CLI's enqueue) and a
/// consumer of the results queue that timestamps every result as it arrives.
/// </summary>
public sealed class BrokerClient : IAsyncDisposable
{
    private const int PublishWindow = 512;
    private readonly IConnection _connection;
    private readonly IChannel _publisher;

    private BrokerClient(IConnection connection, IChannel publisher)
    {
        _connection = connection;
        _publisher = publisher;
    }

    public IConnection Connection => _connection;

    public static async Task<BrokerClient> ConnectAsync(string uri, string name)
    {
        var connection = await Factory(uri, name).CreateConnectionAsync();
        var publisher = await connection.CreateChannelAsync(new CreateChannelOptions(true, true, new ThrottlingRateLimiter(PublishWindow), 1));
        return new BrokerClient(connection, publisher);
    }

    public static ConnectionFactory Factory(string uri, string name) => new()
    {
        Uri = new Uri(uri),
        ClientProvidedName = name,
        AutomaticRecoveryEnabled = false,
    };

    /// <summary>The same queue/exchange shapes the worker declares (quorum queues, topic results exchange bound with #).</summary>
    public async Task DeclareAsync(Topology topology)
    {
        await using var channel = await _connection.CreateChannelAsync();
        var quorum = new Dictionary<string, object?> { ["x-queue-type"] = "quorum" };
        await channel.QueueDeclareAsync(topology.JobsQueue, durable: true, exclusive: false, autoDelete: false, arguments: quorum);
        await channel.ExchangeDeclareAsync(topology.ResultsExchange, ExchangeType.Topic, durable: true, autoDelete: false);
        await channel.QueueDeclareAsync(topology.ResultsQueue, durable: true, exclusive: false, autoDelete: false, arguments: quorum);
        await channel.QueueBindAsync(topology.ResultsQueue, topology.ResultsExchange, "#");
    }

    public async Task DeleteAsync(Topology topology)
    {
        try
        {
            await using var channel = await _connection.CreateChannelAsync();
            var delayQueues = Worker.Host.Publishing.DelayQueues.TierSeconds.Select(seconds => Worker.Host.Publishing.DelayQueues.Name(topology.JobsQueue, seconds));
            foreach (var queue in new[] { topology.JobsQueue, topology.ResultsQueue, topology.DeadLetterQueue }.Concat(delayQueues))
            {
                await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false);
            }

            await channel.ExchangeDeleteAsync(topology.ResultsExchange);
            await channel.ExchangeDeleteAsync(topology.DeadLetterExchange);
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
        {
            // Best effort.
        }
    }

    public async Task<(uint Messages, uint Consumers)> QueueStateAsync(string queue)
    {
        await using var channel = await _connection.CreateChannelAsync();
        var ok = await channel.QueueDeclarePassiveAsync(queue);
        return (ok.MessageCount, ok.ConsumerCount);
    }

    /// <summary>Waits until <paramref name="queue"/> exists and has a consumer (a worker that finished starting).</summary>
    public async Task WaitForConsumerAsync(string queue, TimeSpan timeout, ChildProcess? owner = null)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            owner?.ThrowIfExited();
            try
            {
                if ((await QueueStateAsync(queue)).Consumers > 0)
                {
                    return;
                }
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException)
            {
                // Not declared yet.
            }

            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"no consumer on {queue} after {timeout.TotalSeconds} s");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>Publishes the bodies to a queue (default exchange), persistent, keeping up to 512 confirms outstanding.</summary>
    public async Task PublishAsync(string queue, IReadOnlyList<byte[]> bodies)
    {
        var properties = new BasicProperties { Persistent = true, ContentType = "application/json" };
        var pending = new List<Task>(PublishWindow);
        foreach (var body in bodies)
        {
            pending.Add(_publisher.BasicPublishAsync("", queue, mandatory: false, properties, body).AsTask());
            if (pending.Count == PublishWindow)
            {
                await Task.WhenAll(pending);
                pending.Clear();
            }
        }

        await Task.WhenAll(pending);
    }

    public async ValueTask DisposeAsync()
    {
        await _publisher.DisposeAsync();
        await _connection.DisposeAsync();
    }
}

/// <summary>
/// Consumes a results queue (auto-ack) and timestamps each arrival. One instance per side; <see cref="Expect"/> arms it
/// for the next batch of results.
/// </summary>
public sealed class ResultsCollector : IAsyncDisposable
{
    private static readonly byte[] Succeeded = Encoding.UTF8.GetBytes("\"status\":\"succeeded\"");
    private static readonly byte[] Duration = Encoding.UTF8.GetBytes("\"duration_ms\":");
    private static readonly byte[] Ttft = Encoding.UTF8.GetBytes("\"ttft_ms\":");
    private readonly IChannel _channel;
    private bool _checkStatus;
    private long[] _arrivals = [];
    private int[] _durations = [];
    private double[] _ttfts = [];
    private int _count;
    private int _expected;
    private long _bytes;
    private int _failed;
    private int _markAt = -1;
    private Action? _atMark;
    private TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ResultsCollector(IChannel channel)
    {
        _channel = channel;
    }

    /// <summary>Results that did not say "succeeded" in the last batch.</summary>
    public int Failed => Volatile.Read(ref _failed);

    public int Count => Volatile.Read(ref _count);

    /// <summary>Mean result body size of the last batch.</summary>
    public double MeanBytes => _count == 0 ? 0 : (double)Interlocked.Read(ref _bytes) / _count;

    /// <summary>Body of a result, kept for inspection.</summary>
    public byte[]? Sample { get; private set; }

    public static async Task<ResultsCollector> StartAsync(IConnection connection, string queue, bool checkStatus = true)
    {
        var channel = await connection.CreateChannelAsync();
        await channel.BasicQosAsync(0, 2000, false);
        var collector = new ResultsCollector(channel) { _checkStatus = checkStatus };
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            collector.OnResult(delivery.Body.Span);
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(queue, autoAck: true, consumer);
        return collector;
    }

    /// <summary>Arms the collector for <paramref name="expected"/> results; returns when all arrived (or times out).</summary>
    public void Expect(int expected, int markAt = -1, Action? atMark = null)
    {
        _markAt = markAt;
        _atMark = atMark;
        _arrivals = new long[expected];
        _durations = new int[expected];
        _ttfts = new double[expected];
        _expected = expected;
        _bytes = 0;
        _failed = 0;
        _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _count, 0);
    }

    private void OnResult(ReadOnlySpan<byte> body)
    {
        var now = Stopwatch.GetTimestamp();
        var index = Interlocked.Increment(ref _count) - 1;
        if (index >= _expected)
        {
            return;
        }

        _arrivals[index] = now;
        if (index == _markAt)
        {
            // The start of a measured window: the caller samples CPU counters here, on the arrival itself.
            _atMark?.Invoke();
        }

        Interlocked.Add(ref _bytes, body.Length);
        if (_checkStatus && body.IndexOf(Succeeded) < 0)
        {
            Interlocked.Increment(ref _failed);
        }

        // The worker's own "duration_ms": delivery received → result ready (before the publish and the ack).
        var at = body.IndexOf(Duration);
        _durations[index] = at >= 0 && System.Buffers.Text.Utf8Parser.TryParse(body[(at + Duration.Length)..], out int ms, out _) ? ms : -1;
        var ttftAt = body.IndexOf(Ttft);
        _ttfts[index] = ttftAt >= 0 && System.Buffers.Text.Utf8Parser.TryParse(body[(ttftAt + Ttft.Length)..], out double ttft, out _) ? ttft : -1;
        if (index == 0)
        {
            Sample = body.ToArray();
        }

        if (index == _expected - 1)
        {
            _done.TrySetResult();
        }
    }

    /// <summary>Median of the worker-reported job durations (ms) of the last batch; NaN when results carry none.</summary>
    public double MedianDurationMs()
    {
        var known = _durations.Where(d => d >= 0).Order().ToArray();
        return known.Length == 0 ? double.NaN : known[known.Length / 2];
    }

    /// <summary>The results' own <c>ttft_ms</c> (streamed answers) of the last batch, sorted; empty when none carry it.</summary>
    public double[] TimesToFirstToken() => _ttfts.Where(t => t >= 0).Order().ToArray();

    public async Task<long[]> WaitAsync(TimeSpan timeout)
    {
        try
        {
            await _done.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"only {Count} of {_expected} results arrived within {timeout.TotalSeconds:0} s");
        }

        return _arrivals;
    }

    public async ValueTask DisposeAsync() => await _channel.DisposeAsync();
}
