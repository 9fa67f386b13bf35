using System.ComponentModel.DataAnnotations;

namespace Worker.Connector.OpenAi;

/// <summary>The chat-completions endpoint. The API key falls back to <c>OPENAI_API_KEY</c>.</summary>
public sealed class OpenAiOptions
{
    public const string SectionName = "Llm";
    public const string ApiKeyVariable = "OPENAI_API_KEY";

    /// <summary>Base URL up to and including <c>/v1</c>. Default https://api.openai.com/v1.</summary>
    [Required]
    [Url]
    public string BaseUrl { get; set; } = "https://api.openai.com/v1";

    /// <summary>Model used when a request names none. Default gpt-4o-mini.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Model { get; set; } = "gpt-4o-mini";

    /// <summary>API key; null = <c>OPENAI_API_KEY</c>; empty = send no Authorization header.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Per-request timeout when the request gives none. Default 120 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(120);

    public string? ResolveApiKey(Func<string, string?>? environment = null) =>
        ApiKey ?? (environment ?? Environment.GetEnvironmentVariable)(ApiKeyVariable);

    /// <summary>Never prints the key.</summary>
    public override string ToString() => $"BaseUrl = {BaseUrl}, Model = {Model}, ApiKey = {(string.IsNullOrEmpty(ResolveApiKey()) ? "(none)" : "(set)")}";
}
