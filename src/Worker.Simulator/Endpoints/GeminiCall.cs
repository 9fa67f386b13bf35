namespace Worker.Simulator.Endpoints;

/// <summary>A validated Gemini generateContent / streamGenerateContent call.</summary>
/// <param name="Model">Model from the path (<c>models/{model}:generateContent</c>).</param>
/// <param name="Stream">streamGenerateContent.</param>
/// <param name="Prompt">Text of the last user content (parts joined with '\n').</param>
/// <param name="PromptTokens">Words in all parts of all contents.</param>
/// <param name="MaxOutputTokens">generationConfig.maxOutputTokens.</param>
/// <param name="PromptChars">Characters in all parts of all contents (for the rate limiter).</param>
internal sealed record GeminiCall(string Model, bool Stream, string Prompt, int PromptTokens, int? MaxOutputTokens, long PromptChars);
