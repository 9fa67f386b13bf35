using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Worker.Host.Configuration;

namespace Worker.Host.Publishing;

/// <summary>
/// The process's one broker connection (automatic recovery on), opened on first use with backoff until the broker
/// answers. Consumer and publisher share it on separate channels.
/// </summary>
public sealed partial class RabbitMqConnectionProvider : IAsyncDisposable
{
    private readonly RabbitMqOptions _options;
    private readonly ILogger<RabbitMqConnectionProvider> _logger;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private IConnection? _connection;

    public RabbitMqConnectionProvider(IOptions<RabbitMqOptions> options, ILogger<RabbitMqConnectionProvider> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _logger = logger;
    }

    public static ConnectionFactory CreateFactory(RabbitMqOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var uri = new Uri(options.Uri);
        var factory = new ConnectionFactory
        {
            Uri = uri,
            AutomaticRecoveryEnabled = true,
            TopologyRecoveryEnabled = true,
            NetworkRecoveryInterval = TimeSpan.FromSeconds(2),
            RequestedHeartbeat = TimeSpan.FromSeconds(30),
            ClientProvidedName = options.ClientName ?? $"worker@{Environment.MachineName}",
        };
        if (uri.Scheme == "amqps")
        {
            factory.Ssl = new SslOption { Enabled = true, ServerName = uri.Host };
        }

        return factory;
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
            var delay = TimeSpan.FromMilliseconds(250);
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    _connection = await factory.CreateConnectionAsync(cancellationToken);
                    LogConnected(_logger, _options.SafeUri());
                    return _connection;
                }
                catch (BrokerUnreachableException ex)
                {
                    LogUnreachable(_logger, _options.SafeUri(), attempt, delay.TotalMilliseconds, ex.InnerException?.Message ?? ex.Message);
                    await Task.Delay(delay, cancellationToken);
                    delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 10_000));
                }
            }
        }
        finally
        {
            _lock.Release();
        }
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
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Connected to RabbitMQ at {Broker}")]
    private static partial void LogConnected(ILogger logger, string broker);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "RabbitMQ at {Broker} unreachable (attempt {Attempt}; retry in {DelayMs} ms): {Reason}")]
    private static partial void LogUnreachable(ILogger logger, string broker, int attempt, double delayMs, string reason);
}
