using System.ComponentModel.DataAnnotations;

namespace Worker.Connector.Anthropic;

/// <summary>An Anthropic Messages endpoint. The API key falls back to <c>ANTHROPIC_API_KEY</c>.</summary>
public sealed class AnthropicOptions
{
    public const string ApiKeyVariable = "ANTHROPIC_API_KEY";

    /// <summary>The API version the request and answer shapes here follow.</summary>
    public const string DefaultVersion = "2023-06-01";

    /// <summary>Base URL up to and including <c>/v1</c>. Default https://api.anthropic.com/v1.</summary>
    [Required]
    [Url]
    public string BaseUrl { get; set; } = "https://api.anthropic.com/v1";

    /// <summary>Model used when a request names none.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Model { get; set; } = "claude-sonnet-4-5";

    /// <summary>API key (<c>x-api-key</c>); null = <c>ANTHROPIC_API_KEY</c>; empty = send none.</summary>
    public string? ApiKey { get; set; }

    /// <summary>The <c>anthropic-version</c> header. Default 2023-06-01.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Version { get; set; } = DefaultVersion;

    /// <summary><c>max_tokens</c> when a request gives none: the API requires one. Default 1024.</summary>
    [Range(1, int.MaxValue)]
    public int MaxTokens { get; set; } = 1024;

    /// <summary>Per-request timeout when the request gives none. Default 120 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(120);

    public string? ResolveApiKey(Func<string, string?>? environment = null) =>
        ApiKey ?? (environment ?? Environment.GetEnvironmentVariable)(ApiKeyVariable);

    /// <summary>Never prints the key.</summary>
    public override string ToString() => $"BaseUrl = {BaseUrl}, Model = {Model}, Version = {Version}, ApiKey = {(string.IsNullOrEmpty(ResolveApiKey()) ? "(none)" : "(set)")}";
}
