namespace Worker.Simulator.Json;

/// <summary>What the simulator needs from a validated chat completion request (the text itself is not kept).</summary>
internal sealed class ChatCompletionRequest
{
    public required string Model { get; init; }

    public bool Stream { get; init; }

    /// <summary>stream_options.include_usage.</summary>
    public bool IncludeUsage { get; init; }

    public int N { get; init; } = 1;

    /// <summary>max_completion_tokens, else max_tokens, else null.</summary>
    public int? MaxTokens { get; init; }

    /// <summary>The sim_tokens extension field (answer length), or null.</summary>
    public int? SimTokens { get; init; }

    /// <summary>Words in all messages.</summary>
    public int PromptTokens { get; init; }

    /// <summary>FNV-1a of the last user message's UTF-8 text ("" when there is none).</summary>
    public ulong PromptHash { get; init; }
}
