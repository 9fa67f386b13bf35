namespace Worker.Connector.Anthropic;

/// <summary>Anthropic's <c>stop_reason</c> in the OpenAI vocabulary; the original is kept on the completion.</summary>
public static class AnthropicFinishReasons
{
    public static string? ToOpenAi(string? stopReason) => stopReason switch
    {
        null => null,
        "end_turn" or "stop_sequence" or "pause_turn" => "stop",
        "max_tokens" or "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => stopReason,
    };
}
