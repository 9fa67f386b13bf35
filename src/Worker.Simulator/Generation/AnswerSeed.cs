namespace Worker.Simulator.Generation;

/// <summary>
/// Derives the seeds an answer is built from. The base seed mixes the hashes of model and prompt separately so a
/// request parser can hash them in whatever order the JSON gives them.
/// </summary>
internal static class AnswerSeed
{
    public const int MinDefaultTokens = 12;
    public const int MaxDefaultTokens = 40;

    public static ulong Base(ulong modelHash, ulong promptHash) => StableHash.Mix(modelHash ^ StableHash.Mix(promptHash));

    public static ulong ForChoice(ulong baseSeed, int choiceIndex) =>
        StableHash.Mix(baseSeed + ((ulong)(uint)choiceIndex * StableHash.Golden));

    public static int DefaultTokenCount(ulong baseSeed) =>
        MinDefaultTokens + (int)(StableHash.Mix(baseSeed ^ 0xD1B54A32D192ED03UL) % (MaxDefaultTokens - MinDefaultTokens + 1));
}
