using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using Worker.Host.Configuration;
using Worker.Host.Resilience;
using Worker.Host.Telemetry;

namespace Worker.Host.Publishing;

/// <summary>
/// The process's one broker connection (automatic recovery on), opened on first use with backoff until the broker
/// answers (the <c>broker</c> pipeline). Consumer and publisher share it on separate channels. With
/// <c>RabbitMq:Hosts</c> the connection and every recovery attempt may go to any node of the cluster, so losing one
/// node costs a reconnect, not an outage. Losing, recovering, blocking and unblocking are logged and counted.
/// </summary>
public sealed partial class RabbitMqConnectionProvider : IAsyncDisposable
{
    private readonly RabbitMqOptions _options;
    private readonly ILogger<RabbitMqConnectionProvider> _logger;
    private readonly BrokerTelemetry _telemetry;
    private readonly ResiliencePipeline _pipeline;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly ClusterEndpointResolver _resolver;
    private IConnection? _connection;
    private CancellationTokenSource _lost = new();

    // The client's inner connections already reported lost: a late close of one of them is not a new loss.
    private readonly ConditionalWeakTable<IConnection, object?> _reportedLost = [];
    private readonly RabbitMqClientEventLog _clientLog;

    public RabbitMqConnectionProvider(
        IOptions<RabbitMqOptions> options, ResiliencePipelineProvider<string> pipelines, BrokerTelemetry telemetry, ILogger<RabbitMqConnectionProvider> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(pipelines);
        _pipeline = pipelines.GetPipeline(PipelineNames.Broker);
        _options = options.Value;
        _telemetry = telemetry;
        _logger = logger;
        _resolver = new ClusterEndpointResolver(Endpoints(_options))
        {
            Resolved = order => LogTrying(_logger, string.Join(", ", order.Select(Node))),
            InUse = () => _connection is { IsOpen: true },
        };
        _clientLog = new RabbitMqClientEventLog(logger);
    }

    /// <summary>True while the connection is open (false before the first connect and while it recovers).</summary>
    public bool IsConnected => _connection is { IsOpen: true } && _telemetry.IsConnected;

    /// <summary>
    /// Cancelled when the connection is lost (not when the application closes it), and replaced by a fresh token once
    /// it has recovered. For work that waits on the broker over this connection and would otherwise wait out its own
    /// timeout: a confirm awaited on a lost connection never arrives (RabbitMQ.Client does not always fail it when the
    /// loss is a missed heartbeat; seen: in-flight publishes held 10 s, up to the publish timeout, after the worker had
    /// logged the loss, and the recovery finished only then).
    /// </summary>
    public CancellationToken ConnectionLost => Volatile.Read(ref _lost).Token;

    /// <summary>True while the broker blocks publishing (a memory or disk alarm).</summary>
    public bool IsBlocked => _telemetry.IsBlocked;

    public static ConnectionFactory CreateFactory(RabbitMqOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var uri = new Uri(options.Uri);
        var factory = new ConnectionFactory
        {
            Uri = uri,
            AutomaticRecoveryEnabled = true,
            TopologyRecoveryEnabled = true,

            // Recover consumers only. Our queues, exchanges and bindings are durable (quorum queues survive a node),
            // so re-declaring them on every recovery is wasted work, and during a partition those metadata updates
            // can wait on the frozen node and hold the consumer back.
            TopologyRecoveryFilter = new TopologyRecoveryFilter
            {
                QueueFilter = static queue => !queue.Durable,
                ExchangeFilter = static exchange => !exchange.Durable,
                BindingFilter = static _ => false,
            },
            NetworkRecoveryInterval = options.RecoveryInterval,

            // A silent peer (partition, paused node: no FIN, no RST) is only noticed by missed heartbeats.
            RequestedHeartbeat = options.Heartbeat,

            // A dead node in the list must not hold up the move to a live one: the default is 30 s per attempt.
            RequestedConnectionTimeout = options.ConnectTimeout,
            HandshakeContinuationTimeout = options.ConnectTimeout,
            ClientProvidedName = options.ClientName ?? $"worker@{Environment.MachineName}",
        };
        if (uri.Scheme == "amqps")
        {
            factory.Ssl = new SslOption { Enabled = true, ServerName = uri.Host };
        }

        return factory;
    }

    /// <summary>
    /// The nodes to try: <c>RabbitMq:Hosts</c> (port defaulting to the URI's), or the URI's host alone. TLS settings are
    /// the URI's; with amqps the certificate must name each node or the URI's host (ServerName).
    /// </summary>
    public static IList<AmqpTcpEndpoint> Endpoints(RabbitMqOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var factory = CreateFactory(options);
        if (options.Hosts.Count == 0)
        {
            return [factory.Endpoint];
        }

        var endpoints = new List<AmqpTcpEndpoint>(options.Hosts.Count);
        foreach (var entry in options.Hosts)
        {
            if (!RabbitMqOptions.TryParseHost(entry, out var host, out var port))
            {
                throw new ArgumentException($"RabbitMq:Hosts: '{entry}' is not host or host:port.", nameof(options));
            }

            var ssl = factory.Ssl.Enabled ? new SslOption { Enabled = true, ServerName = factory.Ssl.ServerName } : new SslOption();
            endpoints.Add(new AmqpTcpEndpoint(host, port == -1 ? factory.Port : port, ssl));
        }

        return endpoints;
    }

    /// <summary>One connection attempt over all configured nodes (the CLI commands use this too).</summary>
    public static Task<IConnection> ConnectAsync(ConnectionFactory factory, RabbitMqOptions options, CancellationToken cancellationToken) =>
        ConnectAsync(factory, new ClusterEndpointResolver(Endpoints(options)), cancellationToken);

    private static Task<IConnection> ConnectAsync(ConnectionFactory factory, ClusterEndpointResolver resolver, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(factory);

        // The resolver is kept by the connection: automatic recovery asks it again for every attempt.
        return factory.CreateConnectionAsync(resolver, factory.ClientProvidedName, cancellationToken);
    }

    public async Task<IConnection> GetAsync(CancellationToken cancellationToken)
    {
        if (_connection is { } existing)
        {
            return existing;
        }

        await _lock.WaitAsync(cancellationToken);
        try
        {
            if (_connection is { } connected)
            {
                return connected;
            }

            var factory = CreateFactory(_options);
            var connection = await _pipeline.ExecuteAsync(
                static async (s, token) => await ConnectAsync(s.Factory, s.Resolver, token), (Factory: factory, Resolver: _resolver), cancellationToken);
            connection.ConnectionShutdownAsync += OnShutdownAsync;
            connection.RecoverySucceededAsync += OnRecoveredAsync;
            connection.ConnectionRecoveryErrorAsync += OnRecoveryErrorAsync;
            connection.ConnectionBlockedAsync += OnBlockedAsync;
            connection.ConnectionUnblockedAsync += OnUnblockedAsync;
            connection.RecoveringConsumerAsync += OnRecoveringConsumerAsync;
            connection.ConsumerTagChangeAfterRecoveryAsync += OnConsumerRecoveredAsync;
            _telemetry.Connected();
            _connection = connection;
            LogConnected(_logger, _options.SafeUri(), Node(connection));
            return connection;
        }
        finally
        {
            _lock.Release();
        }
    }

    private static string Node(IConnection connection) => Node(connection.Endpoint);

    private static string Node(AmqpTcpEndpoint endpoint) => $"{endpoint.HostName}:{endpoint.Port}";

    private Task OnRecoveringConsumerAsync(object sender, RecoveringConsumerEventArgs args)
    {
        LogRecoveringConsumer(_logger, args.ConsumerTag);
        return Task.CompletedTask;
    }

    private Task OnConsumerRecoveredAsync(object sender, ConsumerTagChangedAfterRecoveryEventArgs args)
    {
        LogConsumerRecovered(_logger, args.TagBefore, args.TagAfter);
        return Task.CompletedTask;
    }

    private Task OnShutdownAsync(object sender, ShutdownEventArgs args)
    {
        // IsOpen: the connection recovery already replaced is still heard from when its node wakes up and closes it
        // (a paused node that rejoins): that is not a loss of the connection in use, which stays open. Nor is a second
        // close of a connection already reported lost (the sender is the client's inner connection of that time).
        if (args.Initiator == ShutdownInitiator.Application || sender is not IConnection { IsOpen: false } connection
            || !_reportedLost.TryAdd(connection, null))
        {
            return Task.CompletedTask;
        }

        _resolver.Demote(connection.Endpoint);
        _telemetry.Lost();
        LogLost(_logger, Node(connection), args.ReplyCode, args.ReplyText);

        // Not awaited: RabbitMQ.Client finishes closing the lost connection (and its socket) only once every shutdown
        // handler has returned, and the token's callbacks (publishes awaiting confirms) ran on for up to 30 s. Meanwhile
        // the socket to a frozen node stayed open, the node's own close when it woke up was taken for a second loss,
        // and the client started a recovery on top of the healthy connection that had replaced it.
        _ = CancelLostAsync(Volatile.Read(ref _lost));
        return Task.CompletedTask;
    }

    private async Task CancelLostAsync(CancellationTokenSource lost)
    {
        await Task.Yield();
        var started = Stopwatch.GetTimestamp();
        try
        {
            await lost.CancelAsync();
        }
        catch (AggregateException ex)
        {
            LogLostCallbacksFailed(_logger, ex.InnerException?.Message ?? ex.Message);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        if (elapsed > TimeSpan.FromSeconds(1))
        {
            LogLostCallbacksSlow(_logger, elapsed.TotalSeconds);
        }
    }

    private Task OnRecoveredAsync(object sender, AsyncEventArgs args)
    {
        // The old source is not disposed: work that failed on its token may still be unwinding with it.
        if (Volatile.Read(ref _lost).IsCancellationRequested)
        {
            Volatile.Write(ref _lost, new CancellationTokenSource());
        }

        _telemetry.Recovered();
        LogRecovered(_logger, Node((IConnection)sender));
        return Task.CompletedTask;
    }

    private Task OnRecoveryErrorAsync(object sender, ConnectionRecoveryErrorEventArgs args)
    {
        if (args.Exception is RecoveryNotNeededException)
        {
            // The client retries a refused attempt every RecoveryInterval until the connection in use is really lost.
            LogRecoveryRefused(_logger);
            return Task.CompletedTask;
        }

        _telemetry.RecoveryFailed();
        LogRecoveryFailed(_logger, args.Exception.Message);
        return Task.CompletedTask;
    }

    private Task OnBlockedAsync(object sender, ConnectionBlockedEventArgs args)
    {
        _telemetry.Blocked(true);
        LogBlocked(_logger, args.Reason);
        return Task.CompletedTask;
    }

    private Task OnUnblockedAsync(object sender, AsyncEventArgs args)
    {
        _telemetry.Blocked(false);
        LogUnblocked(_logger);
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is { } connection)
        {
            try
            {
                await connection.CloseAsync();
            }
            catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or IOException)
            {
            }

            await connection.DisposeAsync();
        }

        _lock.Dispose();
        _lost.Dispose();
        _clientLog.Dispose();
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Connected to RabbitMQ at {Broker} (node {Node})")]
    private static partial void LogConnected(ILogger logger, string broker, string node);

    [LoggerMessage(EventId = 310, Level = LogLevel.Warning, Message = "RabbitMQ connection to {Node} lost ({ReplyCode} {ReplyText}); recovering")]
    private static partial void LogLost(ILogger logger, string node, ushort replyCode, string replyText);

    [LoggerMessage(EventId = 311, Level = LogLevel.Information, Message = "RabbitMQ connection recovered (node {Node})")]
    private static partial void LogRecovered(ILogger logger, string node);

    [LoggerMessage(EventId = 312, Level = LogLevel.Warning, Message = "RabbitMQ connection recovery attempt failed: {Reason}; retrying")]
    private static partial void LogRecoveryFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 315, Level = LogLevel.Information, Message = "RabbitMQ connection attempt: nodes in order {Nodes}")]
    private static partial void LogTrying(ILogger logger, string nodes);

    [LoggerMessage(EventId = 316, Level = LogLevel.Information, Message = "RabbitMQ recovering consumer {ConsumerTag}")]
    private static partial void LogRecoveringConsumer(ILogger logger, string consumerTag);

    [LoggerMessage(EventId = 317, Level = LogLevel.Information, Message = "RabbitMQ consumer {ConsumerTag} recovered as {NewTag}")]
    private static partial void LogConsumerRecovered(ILogger logger, string consumerTag, string newTag);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "Failing work waiting on the lost RabbitMQ connection took {Seconds:0.0} s")]
    private static partial void LogLostCallbacksSlow(ILogger logger, double seconds);

    [LoggerMessage(EventId = 304, Level = LogLevel.Warning, Message = "Failing work waiting on the lost RabbitMQ connection threw: {Reason}")]
    private static partial void LogLostCallbacksFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 305, Level = LogLevel.Debug, Message = "RabbitMQ recovery attempt refused: the connection in use is open (a replaced connection closed late)")]
    private static partial void LogRecoveryRefused(ILogger logger);

    [LoggerMessage(EventId = 313, Level = LogLevel.Warning, Message = "RabbitMQ blocked publishing: {Reason}")]
    private static partial void LogBlocked(ILogger logger, string reason);

    [LoggerMessage(EventId = 314, Level = LogLevel.Information, Message = "RabbitMQ unblocked publishing")]
    private static partial void LogUnblocked(ILogger logger);
}
