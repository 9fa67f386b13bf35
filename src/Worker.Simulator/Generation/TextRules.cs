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
}
