using System.Buffers;
using System.Text;

namespace Worker.Runtime.Http;

/// <summary>An upstream body read whole into a pooled buffer; dispose it once the payload is written.</summary>
internal sealed class UpstreamBody : IDisposable
{
    private byte[]? _buffer;

    public UpstreamBody(byte[] buffer, int length, Encoding encoding)
    {
        _buffer = buffer;
        Length = length;
        Encoding = encoding;
    }

    public int Length { get; }

    public Encoding Encoding { get; }

    public ReadOnlySpan<byte> Bytes => _buffer.AsSpan(0, Length);

    /// <summary>
    /// The body as UTF-8: the bytes themselves when they already are valid UTF-8 (the usual case, no copy), else
    /// decoded with the declared charset (invalid bytes become U+FFFD) and re-encoded.
    /// </summary>
    public ReadOnlySpan<byte> Utf8()
    {
        var bytes = Bytes;
        return Encoding.CodePage == Encoding.UTF8.CodePage && System.Text.Unicode.Utf8.IsValid(bytes)
            ? bytes
            : Encoding.UTF8.GetBytes(Encoding.GetString(bytes));
    }

    public void Dispose()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
