using System.ComponentModel.DataAnnotations;

namespace Worker.Host.Configuration;

/// <summary>
/// Host-only LLM settings beside the Connector's <c>OpenAiOptions</c> (same <c>Llm</c> section): the seed's two modes.
/// With <see cref="UseSimulator"/> (or <c>USE_SIMULATOR=true</c>) the base URL is the simulator's.
/// </summary>
public sealed class LlmHostOptions
{
    public const string SectionName = "Llm";
    public const string UseSimulatorVariable = "USE_SIMULATOR";

    public bool UseSimulator { get; set; }

    /// <summary>The simulator's base URL. Default http://127.0.0.1:4545/v1.</summary>
    [Required]
    [Url]
    public string SimulatorUrl { get; set; } = "http://127.0.0.1:4545/v1";
}

/// <summary>Host-only runtime settings beside the Connector's client options (same <c>Runtime</c> section).</summary>
public sealed class RuntimeHostOptions
{
    public const string SectionName = "Runtime";

    /// <summary>Start our runtime in-process on the configured socket (default), or use an external one.</summary>
    public bool Embedded { get; set; } = true;
}
