namespace Worker.Simulator.Generation;

/// <summary>What the simulator answers for one choice.</summary>
/// <param name="Text">The assistant text (concatenation of all streamed tokens).</param>
/// <param name="CompletionTokens">Number of tokens (stream chunks) in <paramref name="Text"/>.</param>
/// <param name="FinishReason"><c>stop</c>, or <c>length</c> when max_tokens cut the answer.</param>
public sealed record SimulatedCompletion(string Text, int CompletionTokens, string FinishReason);
