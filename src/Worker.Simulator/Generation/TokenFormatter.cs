namespace Worker.Simulator.Generation;

/// <summary>
/// Renders token k of a choice into UTF-8: a word from <see cref="WordList"/>, preceded by a space unless it is the
/// first token, capitalised at a sentence start and followed by '.' at a sentence end. Token k depends only on the
/// choice seed and k, so a shorter answer is always a prefix of a longer one.
/// </summary>
internal static class TokenFormatter
{
    /// <summary>Upper bound of one rendered token in bytes (space + word + '.').</summary>
    public const int MaxTokenBytes = 64;

    public static int Format(ulong choiceSeed, int k, Span<byte> destination)
    {
        var r = Draw(choiceSeed, k);
        var word = WordList.Get((int)(r % (ulong)WordList.Count));
        var capitalise = k == 0 || EndsSentence(Draw(choiceSeed, k - 1));

        var length = 0;
        if (k > 0)
        {
            destination[length++] = (byte)' ';
        }

        word.CopyTo(destination[length..]);
        if (capitalise)
        {
            destination[length] = (byte)(destination[length] - ('a' - 'A'));
        }

        length += word.Length;
        if (EndsSentence(r))
        {
            destination[length++] = (byte)'.';
        }

        return length;
    }

    private static ulong Draw(ulong choiceSeed, int k) => StableHash.Mix(choiceSeed ^ ((ulong)(uint)k * 0xC2B2AE3D27D4EB4FUL));

    // About one token in eight closes a sentence.
    private static bool EndsSentence(ulong r) => ((r >> 33) & 7) == 7;
}
