using Worker.Connector.OpenAi;

namespace Worker.Connector.Gemini;

/// <summary>What a Gemini answer came to: a completion, an error element, or a prompt blocked before any candidate.</summary>
/// <param name="Completion">The completion, when there is one.</param>
/// <param name="Error">An error reported inside the answer (a stream element).</param>
/// <param name="BlockReason">promptFeedback.blockReason when the prompt itself was refused.</param>
public sealed record GeminiParseResult(ChatCompletion? Completion, GeminiError? Error, string? BlockReason);
