namespace Worker.Host.Configuration;

/// <summary>
/// One named endpoint (<c>Llm:Endpoints:&lt;name&gt;</c>): a provider at a base URL, its key read from a named
/// environment variable (the key itself is never in configuration), and the models it serves.
/// </summary>
public sealed class LlmEndpointOptions
{
    /// <summary><c>openai</c> (default), <c>anthropic</c> or <c>gemini</c>.</summary>
    public string Provider { get; set; } = EndpointProviders.OpenAi;

    /// <summary>Base URL up to the version segment, e.g. https://api.anthropic.com/v1.</summary>
    public string? BaseUrl { get; set; }

    /// <summary>The environment variable holding the API key; unset = the provider's usual variable (OPENAI_API_KEY, ...).</summary>
    public string? ApiKeyVariable { get; set; }

    /// <summary>Model ids routed here by a job's <c>model</c>; a <c>*</c> entry or none = any model when named explicitly.</summary>
    public List<string> Models { get; set; } = [];

    /// <summary>The model used when a job names none; default the first entry of <see cref="Models"/>, else the provider's default.</summary>
    public string? Model { get; set; }

    /// <summary>Anthropic: the <c>anthropic-version</c> header.</summary>
    public string? Version { get; set; }

    /// <summary>Output tokens when a job gives none (Anthropic requires one; Gemini optional).</summary>
    public int? MaxTokens { get; set; }

    /// <summary>True when this endpoint takes any model (no list, or a <c>*</c> entry).</summary>
    public bool ServesAnyModel => Models.Count == 0 || Models.Contains(EndpointProviders.AnyModel);

    /// <summary>The model used when a job names none.</summary>
    public string? DefaultModel => Model ?? Models.FirstOrDefault(m => m != EndpointProviders.AnyModel);
}
