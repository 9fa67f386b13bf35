using System.Text.Json;

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

    /// <summary>Characters of the text of all messages (the rate limiter's prompt estimate is a quarter of it).</summary>
    public long PromptChars { get; init; }

    /// <summary>FNV-1a of the last user message's UTF-8 text ("" when there is none).</summary>
    public ulong PromptHash { get; init; }

    /// <summary>The function tools, in request order; empty when none.</summary>
    public IReadOnlyList<ToolFunction> Tools { get; init; } = [];

    public ToolChoiceMode ToolChoice { get; init; }

    /// <summary>The function <c>tool_choice</c> names (with <see cref="ToolChoiceMode.Named"/>).</summary>
    public string? ToolChoiceName { get; init; }

    public ResponseFormatMode ResponseFormat { get; init; }

    /// <summary>The <c>response_format.json_schema.schema</c> (with <see cref="ResponseFormatMode.JsonSchema"/>).</summary>
    public JsonElement? ResponseSchema { get; init; }

    /// <summary>Whether the conversation's last message is a tool result (auto then answers in text).</summary>
    public bool LastMessageIsToolResult { get; init; }

    /// <summary>
    /// The last user message's text, only read when an auto tool decision needs it (tools given, tool_choice auto);
    /// otherwise null: plain requests never turn the prompt into a string.
    /// </summary>
    public string? LastUserText { get; init; }

    /// <summary>The structured answer (tool calls or JSON content), built once per request by the endpoint.</summary>
    internal Generation.StructuredAnswer? Structured { get; set; }
}
