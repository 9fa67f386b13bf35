using System.Buffers.Text;

namespace Worker.Simulator.Http;

/// <summary>Makes unique ids such as <c>chatcmpl-1a2b3c4d000000000000002a</c> without locks or random calls per request.</summary>
internal sealed class CompletionIdGenerator
{
    private static ReadOnlySpan<byte> Prefix => "chatcmpl-"u8;

    private readonly uint _instance = (uint)Random.Shared.Next();
    private long _counter;

    public const int Length = 9 + 8 + 16;

    /// <summary>A new id as UTF-8 (allocated once per request; it is written into every chunk).</summary>
    public byte[] Next()
    {
        var id = new byte[Length];
        Prefix.CopyTo(id);
        var counter = (ulong)Interlocked.Increment(ref _counter);
        Utf8Formatter.TryFormat(_instance, id.AsSpan(9, 8), out _, new System.Buffers.StandardFormat('x', 8));
        Utf8Formatter.TryFormat(counter, id.AsSpan(17, 16), out _, new System.Buffers.StandardFormat('x', 16));
        return id;
    }
}
