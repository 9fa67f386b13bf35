namespace Worker.Simulator.Json;

/// <summary>The parts of a Gemini GenerateContentRequest the simulator reads.</summary>
internal sealed class GeminiRequest
{
    public IList<GeminiContent?>? Contents { get; set; }

    public GeminiGenerationConfig? GenerationConfig { get; set; }
}

/// <summary>One turn: role (user or model) and its parts.</summary>
internal sealed class GeminiContent
{
    public string? Role { get; set; }

    public IList<GeminiPart?>? Parts { get; set; }
}

/// <summary>One part; only text parts count.</summary>
internal sealed class GeminiPart
{
    public string? Text { get; set; }
}

/// <summary>Generation settings; maxOutputTokens cuts the answer (finishReason MAX_TOKENS).</summary>
internal sealed class GeminiGenerationConfig
{
    public int? MaxOutputTokens { get; set; }
}
