namespace Worker.Connector.Gemini;

/// <summary>Gemini's <c>finishReason</c> in the OpenAI vocabulary; the original is kept on the completion.</summary>
public static class GeminiFinishReasons
{
    public static string? ToOpenAi(string? finishReason) => finishReason switch
    {
        null => null,
        "STOP" => "stop",
        "MAX_TOKENS" => "length",
        "SAFETY" or "RECITATION" or "BLOCKLIST" or "PROHIBITED_CONTENT" or "SPII" or "IMAGE_SAFETY" => "content_filter",
        _ => finishReason.ToLowerInvariant(),
    };
}
