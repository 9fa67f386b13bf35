using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Worker.Host.Configuration;
using Worker.Host.Intake;
using Worker.Host.Publishing;
using Worker.Host.Telemetry;

namespace Worker.Host.Health;

/// <summary>
/// Samples the jobs queue's depth every 5 s with a passive declare (its declare-ok carries the ready-message and
/// consumer counts; it never creates or changes the queue) for the <c>worker.queue.messages</c> gauge, and exposes
/// <c>worker.intake.paused</c>. The age of the oldest job waiting in the queue is not sampled: AMQP gives it only by
/// fetching the message, which would mark it redelivered; the management API has it, but the worker does not talk to
/// that API. The age of the oldest job the worker holds is <see cref="JobAgeTelemetry"/>'s gauge (created here, so it
/// is exported from the start).
/// </summary>
public sealed partial class QueueSampler : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    private readonly RabbitMqConnectionProvider _connections;
    private readonly BrokerTelemetry _telemetry;
    private readonly RabbitMqOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<QueueSampler> _logger;
    private IChannel? _channel;

    public QueueSampler(
        RabbitMqConnectionProvider connections, BrokerTelemetry telemetry, IntakeController intake, JobAgeTelemetry jobAge, IMeterFactory meterFactory,
        IOptions<RabbitMqOptions> options, TimeProvider time, ILogger<QueueSampler> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(intake);
        ArgumentNullException.ThrowIfNull(jobAge);
        (_connections, _telemetry, _options, _time, _logger) = (connections, telemetry, options.Value, time, logger);
        meterFactory.Create(WorkerTelemetry.SourceName)
            .CreateObservableGauge("worker.intake.paused", () => intake.IsPaused ? 1 : 0, "1", "1 while intake is paused for an outage.");
        meterFactory.Create(WorkerTelemetry.SourceName)
            .CreateObservableGauge(
                "worker.endpoint.down",
                () => intake.Endpoints.Select(e => new Measurement<int>(intake.IsEndpointDown(e) ? 1 : 0, new KeyValuePair<string, object?>("worker.endpoint", e))),
                "1",
                "1 while the endpoint's outage breaker is open (its jobs fall back or wait), per endpoint.");
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, _time);
        do
        {
            try
            {
                await SampleAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or BrokerUnreachableException or IOException or TimeoutException or OperationCanceledException)
            {
                // The broker is away: the connection provider logs that; the gauge keeps its last value.
                LogSampleFailed(_logger, ex.Message);
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken cancellationToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task SampleAsync(CancellationToken cancellationToken)
    {
        if (_channel is not { IsOpen: true })
        {
            var connection = await _connections.GetAsync(cancellationToken);
            if (_channel is { } stale)
            {
                _channel = null;
                await stale.DisposeAsync();
            }

            _channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Interval);
        var ok = await _channel.QueueDeclarePassiveAsync(_options.JobsQueue, timeout.Token);
        _telemetry.QueueSampled(ok.MessageCount, ok.ConsumerCount);
    }

    public override void Dispose()
    {
        _channel?.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 320, Level = LogLevel.Debug, Message = "Queue depth not sampled: {Reason}")]
    private static partial void LogSampleFailed(ILogger logger, string reason);
}
