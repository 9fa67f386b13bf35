using Worker.Connector.OpenAi;

namespace Worker.Host.Endpoints;

/// <summary>One named endpoint: its provider, its client over the shared runtime, and the models routed to it.</summary>
public sealed record ChatEndpoint(string Name, string Provider, IChatCompletionClient Client, IReadOnlySet<string> Models, bool ServesAnyModel)
{
    /// <summary>The endpoint's URL as a Uri (telemetry: server.address, server.port), or null.</summary>
    public Uri? Server { get; } = Uri.TryCreate(Client?.Endpoint, UriKind.Absolute, out var server) ? server : null;

    /// <summary>True when a job may send <paramref name="model"/> here.</summary>
    public bool Serves(string model) => ServesAnyModel || Models.Contains(model);
}

/// <summary>One candidate of a job's chain: the endpoint and the model asked of it.</summary>
public sealed record ChatRoute(ChatEndpoint Endpoint, string Model);
