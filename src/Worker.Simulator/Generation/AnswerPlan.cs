namespace Worker.Simulator.Generation;

/// <summary>
/// Everything needed to emit one request's answer token by token: nothing is generated up front.
/// All choices have the same length.
/// </summary>
/// <param name="BaseSeed">Seed from model and prompt (see <see cref="AnswerSeed"/>).</param>
/// <param name="Choices">Number of choices (n).</param>
/// <param name="Tokens">Tokens per choice.</param>
/// <param name="Truncated">Whether max tokens cut the answer (finish reason length).</param>
/// <param name="PromptTokens">Words in the prompt.</param>
internal readonly record struct AnswerPlan(ulong BaseSeed, int Choices, int Tokens, bool Truncated, int PromptTokens)
{
    public int CompletionTokens => Choices * Tokens;

    public int TotalTokens => PromptTokens + CompletionTokens;

    /// <summary>Applies the length rules: requested length (default from the seed), cut by max tokens.</summary>
    public static AnswerPlan Create(ulong modelHash, ulong promptHash, int choices, int? requestedTokens, int? maxTokens, int promptTokens)
    {
        var baseSeed = AnswerSeed.Base(modelHash, promptHash);
        var requested = requestedTokens ?? AnswerSeed.DefaultTokenCount(baseSeed);
        var truncated = maxTokens is int max && max < requested;
        return new AnswerPlan(baseSeed, choices, truncated ? maxTokens!.Value : requested, truncated, promptTokens);
    }

    /// <summary>Renders token <paramref name="step"/> of choice <paramref name="choice"/> into <paramref name="destination"/>.</summary>
    public int FormatToken(int choice, int step, Span<byte> destination) =>
        TokenFormatter.Format(AnswerSeed.ForChoice(BaseSeed, choice), step, destination);
}
