using System.ComponentModel.DataAnnotations;

namespace Worker.Connector.Gemini;

/// <summary>A Gemini API endpoint. The API key falls back to <c>GEMINI_API_KEY</c>.</summary>
public sealed class GeminiOptions
{
    public const string ApiKeyVariable = "GEMINI_API_KEY";

    /// <summary>Base URL up to the version segment. Default https://generativelanguage.googleapis.com/v1beta.</summary>
    [Required]
    [Url]
    public string BaseUrl { get; set; } = "https://generativelanguage.googleapis.com/v1beta";

    /// <summary>Model used when a request names none.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Model { get; set; } = "gemini-2.0-flash";

    /// <summary>API key, sent as <c>x-goog-api-key</c> (never in the URL); null = <c>GEMINI_API_KEY</c>; empty = send none.</summary>
    public string? ApiKey { get; set; }

    /// <summary><c>maxOutputTokens</c> when a request gives none; null leaves the model's own limit.</summary>
    [Range(1, int.MaxValue)]
    public int? MaxTokens { get; set; }

    /// <summary>Per-request timeout when the request gives none. Default 120 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(120);

    public string? ResolveApiKey(Func<string, string?>? environment = null) =>
        ApiKey ?? (environment ?? Environment.GetEnvironmentVariable)(ApiKeyVariable);

    /// <summary>Never prints the key.</summary>
    public override string ToString() => $"BaseUrl = {BaseUrl}, Model = {Model}, ApiKey = {(string.IsNullOrEmpty(ResolveApiKey()) ? "(none)" : "(set)")}";
}
