using Microsoft.Extensions.Logging;
using Worker.Connector.Client;
using Worker.Connector.OpenAi;

namespace Worker.Host.Processing;

/// <summary>During an outage: checks the runtime (health check) and the endpoint (GET /models through it) until both answer.</summary>
public sealed partial class OutageProbe
{
    private readonly RuntimeClient _runtime;
    private readonly OpenAiChatClient _chat;
    private readonly ILogger<OutageProbe> _logger;

    public OutageProbe(RuntimeClient runtime, OpenAiChatClient chat, ILogger<OutageProbe> logger)
    {
        _runtime = runtime;
        _chat = chat;
        _logger = logger;
    }

    public async Task WaitUntilHealthyAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            await Task.Delay(interval, cancellationToken);
            if (await IsHealthyAsync(interval, cancellationToken))
            {
                return;
            }

            LogStillDown(_logger, attempt);
        }
    }

    public async Task<bool> IsHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            var health = await _runtime.HealthCheckAsync(timeout, cancellationToken);
            return health.Healthy && await _chat.ProbeAsync(timeout, cancellationToken);
        }
        catch (Worker.Connector.ConnectorException)
        {
            return false;
        }
    }

    [LoggerMessage(EventId = 110, Level = LogLevel.Information, Message = "Outage probe {Attempt}: runtime or endpoint still down")]
    private static partial void LogStillDown(ILogger logger, int attempt);
}
