using Worker.Connector;
using Worker.Connector.Client;
using Worker.Connector.OpenAi;

namespace Worker.Host.Intake;

/// <summary>The runtime answers its health check and the endpoint answers <c>GET /models</c> through it.</summary>
public sealed class OutageProbe : IOutageProbe
{
    private readonly RuntimeClient _runtime;
    private readonly OpenAiChatClient _chat;

    public OutageProbe(RuntimeClient runtime, OpenAiChatClient chat)
    {
        _runtime = runtime;
        _chat = chat;
    }

    public async Task<bool> IsHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            var health = await _runtime.HealthCheckAsync(timeout, cancellationToken);
            return health.Healthy && await _chat.ProbeAsync(timeout, cancellationToken);
        }
        catch (ConnectorException)
        {
            return false;
        }
    }
}
