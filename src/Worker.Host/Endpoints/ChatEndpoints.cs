using Microsoft.Extensions.Options;
using Worker.Connector.Client;
using Worker.Connector.OpenAi;
using Worker.Host.Configuration;

namespace Worker.Host.Endpoints;

/// <summary>
/// The configured endpoints and the router over them: the default endpoint (<c>Llm:BaseUrl</c>, named
/// <c>default</c>, provider openai) and the named ones (<c>Llm:Endpoints</c>). A job's explicit endpoint wins; else
/// the first endpoint whose <c>Models</c> names its model; else the default. <c>Llm:Fallbacks:&lt;model&gt;</c>
/// appends the candidates tried when the primary cannot answer — for routed jobs only: an explicit endpoint pins the
/// job there (the producer chose it, e.g. for data residency or a contract), so it never falls back.
/// </summary>
public sealed class ChatEndpoints
{
    private readonly Dictionary<string, ChatEndpoint> _byName = new(StringComparer.Ordinal);
    private readonly IReadOnlyDictionary<string, List<string>> _fallbacks;

    public ChatEndpoints(IChatCompletionClient defaultClient, RuntimeClient runtime, IOptions<LlmHostOptions> options)
        : this(
            Default(defaultClient),
            (options ?? throw new ArgumentNullException(nameof(options))).Value.Endpoints
                .OrderBy(e => e.Key, StringComparer.Ordinal)
                .Select(e => ChatEndpointFactory.Create(e.Key, e.Value, runtime)),
            options.Value.Fallbacks)
    {
    }

    public ChatEndpoints(ChatEndpoint defaultEndpoint, IEnumerable<ChatEndpoint> named, IReadOnlyDictionary<string, List<string>>? fallbacks = null)
    {
        ArgumentNullException.ThrowIfNull(defaultEndpoint);
        ArgumentNullException.ThrowIfNull(named);
        DefaultEndpoint = defaultEndpoint;
        _byName[defaultEndpoint.Name] = defaultEndpoint;
        foreach (var endpoint in named)
        {
            _byName[endpoint.Name] = endpoint;
        }

        All = [.. _byName.Values];
        _fallbacks = fallbacks ?? new Dictionary<string, List<string>>();
    }

    /// <summary>One endpoint, the given client as <c>default</c> (the single-endpoint configuration).</summary>
    public static ChatEndpoints Single(IChatCompletionClient client) => new(Default(client), []);

    public ChatEndpoint DefaultEndpoint { get; }

    public IReadOnlyList<ChatEndpoint> All { get; }

    public bool TryGet(string name, out ChatEndpoint endpoint) => _byName.TryGetValue(name, out endpoint!);

    /// <summary>
    /// The candidates for a job, primary first, then its model's fallbacks (each endpoint and model once; none for a
    /// job that names its endpoint); or the reason the job cannot be routed (an unknown endpoint, or a model the named endpoint does not serve).
    /// </summary>
    public (IReadOnlyList<ChatRoute> Routes, string? Error) Resolve(string? endpointName, string? model)
    {
        ChatEndpoint primary;
        if (endpointName is not null)
        {
            if (!TryGet(endpointName, out primary))
            {
                return ([], $"unknown_endpoint: no endpoint named '{endpointName}' is configured");
            }
        }
        else
        {
            primary = model is null ? DefaultEndpoint : All.FirstOrDefault(e => e.Models.Contains(model)) ?? DefaultEndpoint;
        }

        var primaryModel = model ?? primary.Client.DefaultModel;
        if (!primary.Serves(primaryModel))
        {
            return ([], $"unknown_model: endpoint '{primary.Name}' does not serve model '{primaryModel}'");
        }

        var routes = new List<ChatRoute> { new(primary, primaryModel) };
        if (endpointName is null && _fallbacks.TryGetValue(primaryModel, out var chain))
        {
            foreach (var entry in chain)
            {
                var (name, fallbackModel) = LlmHostOptions.SplitFallback(entry);
                if (TryGet(name, out var endpoint) && new ChatRoute(endpoint, fallbackModel ?? primaryModel) is var route && !routes.Contains(route))
                {
                    routes.Add(route);
                }
            }
        }

        return (routes, null);
    }

    private static ChatEndpoint Default(IChatCompletionClient client)
    {
        ArgumentNullException.ThrowIfNull(client);
        return new ChatEndpoint(EndpointProviders.DefaultEndpoint, EndpointProviders.OpenAi, client, new HashSet<string>(), ServesAnyModel: true);
    }
}
