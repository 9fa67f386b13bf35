namespace Worker.Simulator.Json;

/// <summary>Body of <c>POST /generate</c>: <c>{"prompt": "...", "stream"?: bool, "max_tokens"?: n}</c>.</summary>
internal sealed class GenerateRequest
{
    public string? Prompt { get; set; }

    public bool? Stream { get; set; }

    public int? MaxTokens { get; set; }

    /// <summary>Optional; the answer hash uses <c>simulator</c> when absent.</summary>
    public string? Model { get; set; }

    /// <summary>Requested answer length, like the X-Sim-Tokens header.</summary>
    public int? SimTokens { get; set; }
}
