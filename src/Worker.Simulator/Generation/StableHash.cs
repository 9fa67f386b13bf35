namespace Worker.Simulator.Generation;

/// <summary>
/// Process-independent hashing (FNV-1a 64 and the SplitMix64 finaliser). string.GetHashCode is randomised per
/// process, so it must never decide an answer.
/// </summary>
internal static class StableHash
{
    public const ulong FnvOffsetBasis = 14695981039346656037UL;
    public const ulong FnvPrime = 1099511628211UL;
    public const ulong Golden = 0x9E3779B97F4A7C15UL;

    public static ulong Fnv1a(ReadOnlySpan<byte> data, ulong hash = FnvOffsetBasis)
    {
        foreach (var b in data)
        {
            hash = (hash ^ b) * FnvPrime;
        }

        return hash;
    }

    /// <summary>FNV-1a of the UTF-8 bytes of <paramref name="text"/>, without allocating for short strings.</summary>
    public static ulong Fnv1aUtf8(string text)
    {
        var max = System.Text.Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rented = null;
        var buffer = max <= 512 ? stackalloc byte[512] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var length = System.Text.Encoding.UTF8.GetBytes(text, buffer);
            return Fnv1a(buffer[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>SplitMix64 finaliser: spreads every input bit over the whole output.</summary>
    public static ulong Mix(ulong z)
    {
        z += Golden;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
