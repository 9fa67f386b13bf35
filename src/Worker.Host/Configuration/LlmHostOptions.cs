using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;

namespace Worker.Host.Configuration;

/// <summary>
/// Host-only LLM settings beside the Connector's <c>OpenAiOptions</c> (same <c>Llm</c> section): the seed's two modes,
/// named endpoints and fallback chains. With <see cref="UseSimulator"/> (or <c>USE_SIMULATOR=true</c>) the default
/// endpoint's base URL is the simulator's.
/// </summary>
public sealed partial class LlmHostOptions : IValidatableObject
{
    public const string SectionName = "Llm";
    public const string UseSimulatorVariable = "USE_SIMULATOR";

    public bool UseSimulator { get; set; }

    /// <summary>The simulator's base URL. Default http://127.0.0.1:4545/v1.</summary>
    [Required]
    [Url]
    public string SimulatorUrl { get; set; } = "http://127.0.0.1:4545/v1";

    /// <summary>Named endpoints besides the default one (<c>Llm:BaseUrl</c> etc., named <c>default</c>).</summary>
    public Dictionary<string, LlmEndpointOptions> Endpoints { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Per model: endpoint names (or <c>endpoint/model</c>) tried in order when the primary cannot answer.</summary>
    public Dictionary<string, List<string>> Fallbacks { get; set; } = new(StringComparer.Ordinal);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var claimed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, endpoint) in Endpoints.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var key = $"{SectionName}:{nameof(Endpoints)}:{name}";
            if (!IsEndpointName(name))
            {
                yield return new ValidationResult($"{key}: an endpoint name is 1 to 64 letters, digits, '-', '_' or '.'");
            }
            else if (name == EndpointProviders.DefaultEndpoint)
            {
                yield return new ValidationResult($"{key}: 'default' is the single-endpoint configuration (Llm:BaseUrl, Llm:Model, Llm:ApiKey); choose another name");
            }

            if (!EndpointProviders.All.Contains(endpoint.Provider))
            {
                yield return new ValidationResult($"{key}:Provider: unknown provider '{endpoint.Provider}' (openai | anthropic | gemini)");
            }

            if (!Uri.TryCreate(endpoint.BaseUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            {
                yield return new ValidationResult($"{key}:BaseUrl: an absolute http(s) URL is required");
            }

            if (endpoint.ApiKeyVariable is not null && !VariableName().IsMatch(endpoint.ApiKeyVariable))
            {
                // The value is not echoed: a key pasted here by mistake must not reach a log.
                yield return new ValidationResult($"{key}:ApiKeyVariable: must be the name of an environment variable (letters, digits, '_'), not the key");
            }

            if (endpoint.MaxTokens is < 1 or > 1_000_000)
            {
                yield return new ValidationResult($"{key}:MaxTokens: must be between 1 and 1000000");
            }

            foreach (var model in endpoint.Models.Where(m => m != EndpointProviders.AnyModel))
            {
                if (string.IsNullOrWhiteSpace(model))
                {
                    yield return new ValidationResult($"{key}:Models: an entry is empty");
                }
                else if (!claimed.TryAdd(model, name) && claimed[model] != name)
                {
                    yield return new ValidationResult($"{key}:Models: model '{model}' is also served by endpoint '{claimed[model]}'");
                }
            }
        }

        foreach (var (model, chain) in Fallbacks)
        {
            for (var i = 0; i < chain.Count; i++)
            {
                var (endpoint, _) = SplitFallback(chain[i]);
                if (endpoint != EndpointProviders.DefaultEndpoint && !Endpoints.ContainsKey(endpoint))
                {
                    yield return new ValidationResult($"{SectionName}:{nameof(Fallbacks)}:{model}:{i}: unknown endpoint '{endpoint}'");
                }
            }
        }
    }

    /// <summary>Every endpoint a job can be sent to: <c>default</c> first, then the named ones (each has its own breaker).</summary>
    public IReadOnlyList<string> EndpointNames() =>
        [EndpointProviders.DefaultEndpoint, .. Endpoints.Keys.Where(k => k != EndpointProviders.DefaultEndpoint).Order(StringComparer.Ordinal)];

    /// <summary>A fallback entry: <c>endpoint</c> or <c>endpoint/model</c>.</summary>
    public static (string Endpoint, string? Model) SplitFallback(string entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var slash = entry.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? (entry, null) : (entry[..slash], entry[(slash + 1)..] is { Length: > 0 } model ? model : null);
    }

    /// <summary>1 to 64 letters, digits, '-', '_' or '.': the form of endpoint names in configuration and jobs.</summary>
    public static bool IsEndpointName(string? name) => name is not null && EndpointName().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex EndpointName();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
    private static partial Regex VariableName();
}

/// <summary>Host-only runtime settings beside the Connector's client options (same <c>Runtime</c> section).</summary>
public sealed class RuntimeHostOptions
{
    public const string SectionName = "Runtime";

    /// <summary>Start our runtime in-process on the configured socket (default), or use an external one.</summary>
    public bool Embedded { get; set; } = true;

    /// <summary>
    /// With the embedded runtime: the worker's own calls go to it directly, not over its socket (default). The socket
    /// still serves other clients and the health check. False sends them over the socket, as an external client's
    /// (to compare, or to exercise the socket path).
    /// </summary>
    public bool InProcess { get; set; } = true;
}
