namespace Worker.Simulator.Generation;

/// <summary>
/// Hashes and word-counts one message's text as it is read from the request, part by part, without building a
/// string. Parts are joined with <see cref="TextRules.PartSeparator"/>, exactly as
/// <see cref="AnswerGenerator.JoinParts"/> does, so the hash equals FNV-1a of the joined UTF-8 text.
/// </summary>
internal struct MessageTextAccumulator
{
    // Stored XOR the FNV offset basis so that default(MessageTextAccumulator) is the hash of empty text.
    private ulong _hashXorBasis;
    private bool _inWord;
    private bool _hasPart;

    public readonly ulong Hash => _hashXorBasis ^ StableHash.FnvOffsetBasis;

    public int Words { get; private set; }

    /// <summary>Characters of the parts (separators not counted), for the rate limiter's token estimate.</summary>
    public int Chars { get; private set; }

    public void AppendPart(ReadOnlySpan<byte> utf8)
    {
        if (_hasPart)
        {
            Append([(byte)TextRules.PartSeparator]);
        }

        _hasPart = true;
        Chars += TextRules.CountChars(utf8);
        Append(utf8);
    }

    private void Append(ReadOnlySpan<byte> utf8)
    {
        var hash = Hash;
        var words = Words;
        var inWord = _inWord;
        foreach (var b in utf8)
        {
            hash = (hash ^ b) * StableHash.FnvPrime;
            var space = TextRules.IsWhiteSpace(b);
            if (!space && !inWord)
            {
                words++;
            }

            inWord = !space;
        }

        _hashXorBasis = hash ^ StableHash.FnvOffsetBasis;
        Words = words;
        _inWord = inWord;
    }
}
