namespace Worker.Simulator.Generation;

/// <summary>
/// The simulator's single definition of a "word": a maximal run of characters that are not ASCII white space
/// (space, \t, \n, \r, \v, \f). ASCII-only so counting UTF-8 bytes and counting UTF-16 chars always agree.
/// </summary>
internal static class TextRules
{
    /// <summary>Separator the text parts of one message (content arrays, Gemini parts) are joined with.</summary>
    public const char PartSeparator = '\n';

    public static bool IsWhiteSpace(int c) => c is ' ' or '\t' or '\n' or '\r' or '\v' or '\f';

    public static int CountWords(ReadOnlySpan<char> text)
    {
        var words = 0;
        var inWord = false;
        foreach (var c in text)
        {
            var space = IsWhiteSpace(c);
            if (!space && !inWord)
            {
                words++;
            }

            inWord = !space;
        }

        return words;
    }

    /// <summary>
    /// Characters as OpenAI's rate limiter counts them (Unicode scalar values, like Python's len): a surrogate pair
    /// is one character.
    /// </summary>
    public static int CountChars(ReadOnlySpan<char> text)
    {
        var chars = text.Length;
        foreach (var c in text)
        {
            if (char.IsLowSurrogate(c))
            {
                chars--;
            }
        }

        return chars;
    }

    /// <summary><see cref="CountChars(ReadOnlySpan{char})"/> of UTF-8 text: every byte that does not continue a sequence.</summary>
    public static int CountChars(ReadOnlySpan<byte> utf8)
    {
        var chars = 0;
        foreach (var b in utf8)
        {
            if ((b & 0xC0) != 0x80)
            {
                chars++;
            }
        }

        return chars;
    }
}
