using System.Collections.Concurrent;
using System.Globalization;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Worker.Bench;

/// <summary>
/// The baseline of the drain figure: the best plain RabbitMQ.Client 7 loop for the worker's broker work and nothing
/// else — consume a job from the preloaded quorum queue, publish a result of the worker's size (persistent, same
/// properties and headers) to the results exchange, ack the job only once the broker confirmed the result. It runs as
/// its own process (<c>Worker.Bench.dll raw-cycle ...</c>) so its CPU per job is read like the worker's.
/// <para>
/// Two shapes, both keeping "confirm before ack" per job:
/// <list type="bullet">
/// <item><c>batched</c> (the default, the faster one on this machine): one dispatch thread publishes every result
/// as its job arrives without waiting, confirms are tracked by hand (publish sequence number → delivery tag, both
/// rising on one channel each), and every confirm — single or multiple — acks all jobs up to it with one
/// <c>multiple</c> ack. No task per job waits on a confirm.</item>
/// <item><c>tracked</c>: the library's confirm tracking, <c>--dispatch</c> handlers each awaiting their own
/// publish's confirm and then acking their own job — the shape the worker has.</item>
/// </list>
/// </para>
/// </summary>
public static class RawCycle
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            options[args[i].TrimStart('-')] = args[i + 1];
        }

        var uri = options["rabbit"];
        var queue = options["queue"];
        var exchange = options["exchange"];
        var prefetch = ushort.Parse(options.GetValueOrDefault("prefetch", "512"), CultureInfo.InvariantCulture);
        var dispatch = ushort.Parse(options.GetValueOrDefault("dispatch", "64"), CultureInfo.InvariantCulture);
        var body = ResultBody(int.Parse(options.GetValueOrDefault("result-bytes", "600"), CultureInfo.InvariantCulture));
        var mode = options.GetValueOrDefault("mode", "batched");

        using var stop = new CancellationTokenSource();
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });

        await using var connection = await BrokerClient.Factory(uri, $"bench-raw-cycle-{mode}").CreateConnectionAsync();
        await using var loop = mode == "tracked"
            ? await TrackedLoop.StartAsync(connection, queue, exchange, prefetch, dispatch, body)
            : (IAsyncDisposable)await BatchedLoop.StartAsync(connection, queue, exchange, prefetch, body);
        Console.Out.WriteLine($"raw cycle consuming {queue} ({mode}, prefetch {prefetch}, dispatch {dispatch}, result {body.Length} B)");
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
        }

        return 0;
    }

    /// <summary>Properties like ResultPublisher's (persistent, JSON, ids, timestamp, status headers).</summary>
    private static BasicProperties Properties() => new()
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

    /// <summary>A JSON body of exactly <paramref name="bytes"/> bytes that says "succeeded" (the collector checks it).</summary>
    private static byte[] ResultBody(int bytes)
    {
        const string head = "{\"status\":\"succeeded\",\"pad\":\"";
        const string tail = "\"}";
        var pad = Math.Max(0, bytes - head.Length - tail.Length);
        return System.Text.Encoding.UTF8.GetBytes(head + new string('x', pad) + tail);
    }

    private sealed class BatchedLoop : IAsyncDisposable
    {
        private readonly IChannel _consume;
        private readonly IChannel _publish;
        private readonly string _exchange;
        private readonly byte[] _body;

        // Publish sequence number → delivery tag of the job it answers; both rise, so a confirm of n settles every
        // job up to the tag of n.
        private readonly ConcurrentQueue<(ulong Seq, ulong Tag)> _pending = new();
        private readonly SemaphoreSlim _ackLock = new(1, 1);

        private BatchedLoop(IChannel consume, IChannel publish, string exchange, byte[] body)
        {
            _consume = consume;
            _publish = publish;
            _exchange = exchange;
            _body = body;
        }

        public static async Task<BatchedLoop> StartAsync(IConnection connection, string queue, string exchange, ushort prefetch, byte[] body)
        {
            var consume = await connection.CreateChannelAsync(new CreateChannelOptions(false, false, null, 1));
            await consume.BasicQosAsync(0, prefetch, global: false);
            var publish = await connection.CreateChannelAsync(new CreateChannelOptions(true, false, null, 1));
            var loop = new BatchedLoop(consume, publish, exchange, body);
            publish.BasicAcksAsync += loop.OnConfirmAsync;
            var consumer = new AsyncEventingBasicConsumer(consume);
            consumer.ReceivedAsync += loop.OnJobAsync;
            await consume.BasicConsumeAsync(queue, autoAck: false, consumer);
            return loop;
        }

        private async Task OnJobAsync(object sender, BasicDeliverEventArgs delivery)
        {
            var seq = await _publish.GetNextPublishSequenceNumberAsync();
            _pending.Enqueue((seq, delivery.DeliveryTag));
            await _publish.BasicPublishAsync(_exchange, "completion.succeeded", mandatory: false, Properties(), _body);
        }

        private async Task OnConfirmAsync(object sender, BasicAckEventArgs confirm)
        {
            await _ackLock.WaitAsync();
            try
            {
                ulong tag = 0;
                while (_pending.TryPeek(out var head) && (head.Seq == confirm.DeliveryTag || (confirm.Multiple && head.Seq < confirm.DeliveryTag)))
                {
                    _pending.TryDequeue(out _);
                    tag = head.Tag;
                }

                if (tag > 0)
                {
                    await _consume.BasicAckAsync(tag, multiple: true);
                }
            }
            finally
            {
                _ackLock.Release();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _consume.DisposeAsync();
            await _publish.DisposeAsync();
        }
    }

    private sealed class TrackedLoop : IAsyncDisposable
    {
        private readonly IChannel _consume;
        private readonly IChannel _publish;
        private readonly string _exchange;
        private readonly byte[] _body;

        private TrackedLoop(IChannel consume, IChannel publish, string exchange, byte[] body)
        {
            _consume = consume;
            _publish = publish;
            _exchange = exchange;
            _body = body;
        }

        public static async Task<TrackedLoop> StartAsync(IConnection connection, string queue, string exchange, ushort prefetch, ushort dispatch, byte[] body)
        {
            var consume = await connection.CreateChannelAsync(new CreateChannelOptions(false, false, null, dispatch));
            await consume.BasicQosAsync(0, prefetch, global: false);
            var publish = await connection.CreateChannelAsync(new CreateChannelOptions(true, true, new ThrottlingRateLimiter(Math.Max(256, (int)prefetch)), 1));
            var loop = new TrackedLoop(consume, publish, exchange, body);
            var consumer = new AsyncEventingBasicConsumer(consume);
            consumer.ReceivedAsync += loop.OnJobAsync;
            await consume.BasicConsumeAsync(queue, autoAck: false, consumer);
            return loop;
        }

        private async Task OnJobAsync(object sender, BasicDeliverEventArgs delivery)
        {
            await _publish.BasicPublishAsync(_exchange, "completion.succeeded", mandatory: false, Properties(), _body);
            await _consume.BasicAckAsync(delivery.DeliveryTag, multiple: false);
        }

        public async ValueTask DisposeAsync()
        {
            await _consume.DisposeAsync();
            await _publish.DisposeAsync();
        }
    }
}
