namespace Worker.Simulator.Endpoints;

/// <summary>A validated Anthropic Messages call.</summary>
/// <param name="Model">The requested model (any name is served, as on the Gemini routes).</param>
/// <param name="Stream">Whether the answer is streamed as SSE events.</param>
/// <param name="Prompt">Text blocks of the last user message joined with '\n'.</param>
/// <param name="PromptTokens">Words in the system prompt and every message (usage.input_tokens).</param>
/// <param name="MaxTokens">max_tokens (required by the API).</param>
/// <param name="PromptChars">Characters of the system prompt and every message (for the rate limiter).</param>
internal sealed record AnthropicCall(string Model, bool Stream, string Prompt, int PromptTokens, int MaxTokens, long PromptChars);
