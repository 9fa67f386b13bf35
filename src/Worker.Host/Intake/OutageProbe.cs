using Worker.Connector;
using Worker.Connector.Client;
using Worker.Connector.OpenAi;
using Worker.Host.Endpoints;

namespace Worker.Host.Intake;

/// <summary>
/// Intake paused (the runtime, or every endpoint, down): the runtime answers its health check and some endpoint
/// answers. An OpenAI-style endpoint is asked <c>GET /models</c> through the runtime; the others have no cheap probe,
/// so a healthy runtime counts for them and the first call through their half-open breaker is the real test (if it
/// fails, the breaker opens again and, every endpoint being down, intake pauses again).
/// </summary>
public sealed class OutageProbe : IOutageProbe
{
    private readonly RuntimeClient _runtime;
    private readonly IReadOnlyList<IChatCompletionClient> _clients;

    public OutageProbe(RuntimeClient runtime, ChatEndpoints endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        _runtime = runtime;
        _clients = [.. endpoints.All.Select(e => e.Client)];
    }

    public async Task<bool> IsHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            var health = await _runtime.HealthCheckAsync(timeout, cancellationToken);
            if (!health.Healthy)
            {
                return false;
            }

            foreach (var client in _clients)
            {
                if (client is not OpenAiChatClient openAi || await openAi.ProbeAsync(timeout, cancellationToken))
                {
                    return true;
                }
            }

            return false;
        }
        catch (ConnectorException)
        {
            return false;
        }
    }
}
