using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Worker.Host.Configuration;
using Worker.Host.Resilience;

namespace Worker.Host.Publishing;

/// <summary>
/// The process's one broker connection (automatic recovery on), opened on first use with backoff until the broker
/// answers (the <c>broker</c> pipeline). Consumer and publisher share it on separate channels.
/// </summary>
public sealed partial class RabbitMqConnectionProvider : IAsyncDisposable
{
    private readonly RabbitMqOptions _options;
    private readonly ILogger<RabbitMqConnectionProvider> _logger;
    private readonly ResiliencePipeline _pipeline;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private IConnection? _connection;

    public RabbitMqConnectionProvider(IOptions<RabbitMqOptions> options, ResiliencePipelineProvider<string> pipelines, ILogger<RabbitMqConnectionProvider> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(pipelines);
        _pipeline = pipelines.GetPipeline(PipelineNames.Broker);
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
            _connection = await _pipeline.ExecuteAsync(static async (f, token) => await f.CreateConnectionAsync(token), factory, cancellationToken);
            LogConnected(_logger, _options.SafeUri());
            return _connection;
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
}
