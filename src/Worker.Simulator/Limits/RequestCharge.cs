namespace Worker.Simulator.Limits;

/// <summary>What a generation request costs against the token bucket, and the model named in a 429 message.</summary>
/// <param name="Model">The requested model.</param>
/// <param name="PromptChars">Characters (Unicode scalar values) of every message's text.</param>
/// <param name="MaxTokens">max_tokens / max_completion_tokens / maxOutputTokens, or null when not given.</param>
/// <param name="Choices">Choices asked for (<c>n</c>): each may produce up to max tokens.</param>
internal readonly record struct RequestCharge(string Model, long PromptChars, int? MaxTokens, int Choices = 1)
{
    /// <summary>
    /// OpenAI's pre-estimate: prompt characters / 4 rounded up, plus max tokens × choices
    /// (<paramref name="defaultMaxTokens"/> when the request gives none).
    /// </summary>
    public long Tokens(int defaultMaxTokens) =>
        ((PromptChars + 3) / 4) + ((long)(MaxTokens ?? defaultMaxTokens) * Math.Max(1, Choices));
}
