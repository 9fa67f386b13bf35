using System.Security.Cryptography;

namespace Worker.Host.Publishing;

/// <summary>
/// Message ids for results: 32 hex digits like <c>Guid.ToString("N")</c>, unique across processes. A random prefix
/// drawn once per instance, then a counter: <c>Guid.NewGuid()</c> per result cost one read of the kernel's random
/// source per job (a syscall, measured in the drain's strace).
/// </summary>
internal sealed class MessageIds
{
    private readonly ulong _prefix = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(sizeof(ulong)));
    private long _last;

    public string Next()
    {
        var sequence = (ulong)Interlocked.Increment(ref _last);
        return string.Create(32, (_prefix, sequence), static (span, ids) =>
        {
            ids._prefix.TryFormat(span, out _, "x16");
            ids.sequence.TryFormat(span[16..], out _, "x16");
        });
    }
}
