using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Worker.Host.Contracts;
using Worker.Simulator;
using Worker.Simulator.Options;
using Worker.Testing;

namespace Worker.Host.Tests.Integration;

/// <summary>
/// A real worker host in-process against the real broker (Testcontainers), a real simulator (Kestrel) and our real
/// runtime on a Unix socket — with uniquely named queues, so tests do not see each other's messages.
/// </summary>
internal sealed class WorkerHarness : IAsyncDisposable
{
    private readonly RabbitMqBrokerFixture _broker;
    private readonly Action<IServiceCollection>? _services;
    private readonly Channel<Delivered> _results = Channel.CreateUnbounded<Delivered>();
    private readonly List<IHost> _others = [];
    private IConnection? _client;
    private IChannel? _publisher;
    private IChannel? _resultsChannel;

    private WorkerHarness(RabbitMqBrokerFixture broker, SimulatorServer simulator, Dictionary<string, string?> settings, Action<IServiceCollection>? services)
    {
        _broker = broker;
        Simulator = simulator;
        Settings = settings;
        _services = services;
    }

    public SimulatorServer Simulator { get; }

    public Dictionary<string, string?> Settings { get; }

    public IHost? Host { get; private set; }

    public string JobsQueue => Settings["RabbitMq:JobsQueue"]!;

    public string DeadLetterQueue => Settings["RabbitMq:DeadLetterQueue"]!;

    public string SocketPath => Settings["Runtime:SocketPath"]!;

    public static async Task<WorkerHarness> StartAsync(
        RabbitMqBrokerFixture broker,
        SimulatorOptions? simulator = null,
        Action<Dictionary<string, string?>>? configure = null,
        Action<IServiceCollection>? services = null,
        bool startWorker = true)
    {
        var sim = await SimulatorServer.StartAsync(simulator);
        var prefix = broker.UniqueName("it");
        var settings = new Dictionary<string, string?>
        {
            ["RabbitMq:Uri"] = broker.AmqpUri.ToString(),
            ["RabbitMq:JobsQueue"] = prefix + ".jobs",
            ["RabbitMq:DeadLetterExchange"] = prefix + ".dlx",
            ["RabbitMq:DeadLetterQueue"] = prefix + ".dead",
            ["RabbitMq:ResultsExchange"] = prefix + ".results",
            ["RabbitMq:ResultsQueue"] = prefix + ".results",
            ["RabbitMq:ControlExchange"] = prefix + ".control",
            ["RabbitMq:PublishTimeout"] = "00:00:10",
            ["Runtime:Embedded"] = "true",
            ["Runtime:SocketPath"] = Path.Combine(Path.GetTempPath(), $"wht-{Guid.NewGuid():N}"[..16] + ".sock"),
            ["Llm:BaseUrl"] = new Uri(sim.BaseAddress, "v1").ToString(),
            ["Llm:Model"] = "gpt-4o-mini",
            ["Llm:ApiKey"] = "",
            ["Worker:Concurrency"] = "4",
            ["Worker:DrainTimeout"] = "00:00:10",
            ["Resilience:BaseDelay"] = "00:00:00.020",
            ["Resilience:MaxDelay"] = "00:00:00.200",
            ["Resilience:MaxRetryAfter"] = "00:00:00.200",
            ["Resilience:AttemptTimeout"] = "00:00:10",
            ["Resilience:TotalTimeout"] = "00:01:00",
            ["Resilience:BreakerBreakDuration"] = "00:00:01",
        };
        configure?.Invoke(settings);
        var harness = new WorkerHarness(broker, sim, settings, services);
        await harness.ConnectClientAsync();
        if (startWorker)
        {
            await harness.StartWorkerAsync();
        }

        return harness;
    }

    public async Task StartWorkerAsync()
    {
        // Assigned only once started, so disposing after a failed start reports the real error.
        Host = await StartHostAsync(Settings);
        // The consumer declares the topology on start; wait for the queue so publishes are not dropped.
        await WaitForQueueAsync(JobsQueue);
        await WaitForQueueAsync(Settings["RabbitMq:ResultsQueue"]!);
        await BindResultsAsync();
    }

    /// <summary>Another worker on the same queues (its own embedded runtime and socket), stopped with the harness.</summary>
    public async Task<IHost> StartAnotherWorkerAsync(Action<Dictionary<string, string?>>? configure = null)
    {
        var settings = new Dictionary<string, string?>(Settings)
        {
            ["Runtime:SocketPath"] = Path.Combine(Path.GetTempPath(), $"wht-{Guid.NewGuid():N}"[..16] + ".sock"),
        };
        configure?.Invoke(settings);
        var host = await StartHostAsync(settings);
        _others.Add(host);
        return host;
    }

    private async Task<IHost> StartHostAsync(Dictionary<string, string?> settings)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddWorker(builder.Configuration);
        _services?.Invoke(builder.Services);
        var host = builder.Build();
        try
        {
            await host.StartAsync();
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    public async Task StopWorkerAsync()
    {
        if (Host is { } host)
        {
            Host = null;
            await host.StopAsync();
            host.Dispose();
        }
    }

    public T Service<T>()
        where T : notnull => Host!.Services.GetRequiredService<T>();

    /// <summary>Publishes job bodies (persistent, with confirms) to the jobs queue.</summary>
    public async Task PublishAsync(IEnumerable<string> bodies, IDictionary<string, object?>? headers = null)
    {
        foreach (var body in bodies)
        {
            await PublishRawAsync(Encoding.UTF8.GetBytes(body), headers);
        }
    }

    public async Task PublishRawAsync(byte[] body, IDictionary<string, object?>? headers = null)
    {
        var properties = new BasicProperties { Persistent = true, ContentType = "application/json", Headers = headers };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _publisher!.BasicPublishAsync("", JobsQueue, mandatory: true, properties, body, timeout.Token);
    }

    /// <summary>Publishes a cancel request (through the contract's serializer) to the control exchange, once the worker listens.</summary>
    public Task PublishCancelAsync(string id) => PublishControlRawAsync(ControlSerializer.Serialize(new CancelRequest { Id = id }));

    public async Task PublishControlRawAsync(byte[] body, string routingKey = CancelRequest.RoutingKey)
    {
        await Eventually.TrueAsync(() => Task.FromResult(Service<Worker.Host.Consuming.CancelConsumer>().IsListening), TimeSpan.FromSeconds(10));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _publisher!.BasicPublishAsync(Settings["RabbitMq:ControlExchange"]!, routingKey, mandatory: false, new BasicProperties(), body, timeout.Token);
    }

    /// <summary>Waits for <paramref name="count"/> results, in arrival order; fails with what arrived on timeout.</summary>
    public async Task<List<Delivered>> ResultsAsync(int count, TimeSpan? timeout = null)
    {
        var list = new List<Delivered>(count);
        using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            while (list.Count < count)
            {
                list.Add(await _results.Reader.ReadAsync(deadline.Token));
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"expected {count} results, got {list.Count}: {string.Join(", ", list.Select(r => r.Id))}");
        }

        return list;
    }

    /// <summary>Results that arrive within <paramref name="window"/> (for asserting that none do).</summary>
    public async Task<List<Delivered>> ResultsWithinAsync(TimeSpan window)
    {
        var list = new List<Delivered>();
        using var deadline = new CancellationTokenSource(window);
        try
        {
            while (true)
            {
                list.Add(await _results.Reader.ReadAsync(deadline.Token));
            }
        }
        catch (OperationCanceledException)
        {
            return list;
        }
    }

    /// <summary>Every message now in the dead-letter queue (acked away).</summary>
    public async Task<List<BasicGetResult>> DeadLettersAsync(int expected, TimeSpan? timeout = null)
    {
        await using var channel = await _client!.CreateChannelAsync();
        var list = new List<BasicGetResult>();
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (list.Count < expected && DateTime.UtcNow < until)
        {
            if (await channel.BasicGetAsync(DeadLetterQueue, autoAck: true) is { } message)
            {
                list.Add(message);
            }
            else
            {
                await Task.Delay(50);
            }
        }

        return list;
    }

    /// <summary>Declares the worker's topology without starting a worker (for tests that only produce).</summary>
    public async Task DeclareTopologyAsync()
    {
        var options = new Worker.Host.Configuration.RabbitMqOptions();
        new ConfigurationBuilder().AddInMemoryCollection(Settings).Build().GetSection("RabbitMq").Bind(options);
        await new Worker.Host.Publishing.TopologyDeclarer(Microsoft.Extensions.Options.Options.Create(options)).DeclareAsync(_client!, CancellationToken.None);
    }

    /// <summary>Takes one job from the jobs queue (acked), waiting for it up to 10 s.</summary>
    public async Task<BasicGetResult> GetJobAsync()
    {
        await using var channel = await _client!.CreateChannelAsync();
        BasicGetResult? job = null;
        await Eventually.TrueAsync(async () => (job = await channel.BasicGetAsync(JobsQueue, autoAck: true)) is not null, TimeSpan.FromSeconds(10));
        return job ?? throw new TimeoutException($"no job in {JobsQueue}");
    }

    public async Task<uint> QueueDepthAsync(string queue)
    {
        await using var channel = await _client!.CreateChannelAsync();
        return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
    }

    private async Task ConnectClientAsync()
    {
        _client = await _broker.CreateConnectionFactory("worker-harness").CreateConnectionAsync();
        _publisher = await _client.CreateChannelAsync(new CreateChannelOptions(true, true, new ThrottlingRateLimiter(256), 1));
    }

    private async Task BindResultsAsync()
    {
        if (_resultsChannel is not null)
        {
            return;
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                _resultsChannel = await _client!.CreateChannelAsync();
                await ConsumeResultsAsync(_resultsChannel);
                return;
            }
            catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.OperationInterruptedException or RabbitMQ.Client.Exceptions.AlreadyClosedException && attempt < 20)
            {
                // A quorum queue just declared may not have its leader yet (INTERNAL_ERROR, which a loaded broker may
                // send as a connection close); try again shortly, on a new connection if need be.
                await Task.Delay(100);
                if (!_client!.IsOpen)
                {
                    await ConnectClientAsync();
                }
            }
        }
    }

    private async Task ConsumeResultsAsync(IChannel channel)
    {
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            var json = JsonDocument.Parse(delivery.Body).RootElement.Clone();
            JobResult? result = null;
            BatchOutputLine? batchLine = null;
            JobDelta? delta = null;
            if (delivery.RoutingKey == JobDelta.RoutingKey)
            {
                ResultSerializer.TryReadDelta(delivery.Body.Span, out delta);
            }
            else
            {
                ResultSerializer.TryRead(delivery.Body.Span, out result, out batchLine);
            }

            var headers = delivery.BasicProperties.Headers is { } h ? new Dictionary<string, object?>(h) : [];
            _results.Writer.TryWrite(new Delivered(json, result, batchLine, delivery.RoutingKey, delivery.BasicProperties.CorrelationId, headers) { Delta = delta });
            await channel.BasicAckAsync(delivery.DeliveryTag, false);
        };
        await channel.BasicConsumeAsync(Settings["RabbitMq:ResultsQueue"]!, autoAck: false, consumer);
    }

    private async Task WaitForQueueAsync(string queue)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                await QueueDepthAsync(queue);
                return;
            }
            catch (RabbitMQ.Client.Exceptions.OperationInterruptedException) when (DateTime.UtcNow < until)
            {
                await Task.Delay(50);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var other in _others)
        {
            await other.StopAsync();
            other.Dispose();
        }

        await StopWorkerAsync();
        if (_client is { } client)
        {
            try
            {
                await using var channel = await client.CreateChannelAsync();
                var delayQueues = Worker.Host.Publishing.DelayQueues.TierSeconds.Select(seconds => Worker.Host.Publishing.DelayQueues.Name(JobsQueue, seconds));
                foreach (var queue in new[] { JobsQueue, DeadLetterQueue, Settings["RabbitMq:ResultsQueue"]! }.Concat(delayQueues))
                {
                    await channel.QueueDeleteAsync(queue);
                }

                await channel.ExchangeDeleteAsync(Settings["RabbitMq:ResultsExchange"]!);
                await channel.ExchangeDeleteAsync(Settings["RabbitMq:ControlExchange"]!);
                await channel.ExchangeDeleteAsync(Settings["RabbitMq:DeadLetterExchange"]!);
            }
            catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.OperationInterruptedException or RabbitMQ.Client.Exceptions.AlreadyClosedException)
            {
            }

            await client.DisposeAsync();
        }

        await Simulator.DisposeAsync();
    }

    /// <summary>One result message: its JSON, and the same read through the contract (our form or Batch output form).</summary>
    public sealed record Delivered(JsonElement Json, JobResult? Result, BatchOutputLine? BatchLine, string RoutingKey, string? CorrelationId, Dictionary<string, object?> Headers)
    {
        /// <summary>A live delta (routing key completion.delta), read through the contract.</summary>
        public JobDelta? Delta { get; init; }

        public string Id => Result?.Id ?? BatchLine?.Id ?? Delta?.Id ?? "";

        public string? CustomId => Result?.CustomId ?? BatchLine?.CustomId;

        public string Status => Result?.Status ?? "";

        public string? Content => Result?.Content;

        public int Attempts => Result?.Attempts ?? 0;
    }
}
