using System.Buffers;
using System.Globalization;
using System.Text;

namespace Worker.Runtime.Http;

/// <summary>
/// Reads a whole upstream body (an event stream too: the protocol returns it as one string) into text, stopping
/// as soon as it passes the size cap so a huge body is never held in memory.
/// </summary>
internal static class ResponseBodyReader
{
    private const int InitialBuffer = 16 * 1024;

    // The caller owns the returned body's pooled buffer (dispose it).

    public static async Task<UpstreamBody> ReadAsync(HttpContent content, long maxBytes, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength is { } declared && declared > maxBytes)
        {
            throw TooLarge(maxBytes, string.Create(CultureInfo.InvariantCulture, $"Content-Length {declared}"));
        }

        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        var size = (int)Math.Min(content.Headers.ContentLength ?? InitialBuffer, maxBytes) + 1;
        byte[]? buffer = ArrayPool<byte>.Shared.Rent(Math.Max(size, 256));
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, maxBytes + 1));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > maxBytes)
                {
                    throw TooLarge(maxBytes, "the body");
                }
            }

            var body = new UpstreamBody(buffer, length, Charset(content));
            buffer = null;
            return body;
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>The declared charset when .NET knows it, else UTF-8.</summary>
    private static Encoding Charset(HttpContent content)
    {
        if (content.Headers.ContentType?.CharSet is { Length: > 0 } charset)
        {
            try
            {
                return Encoding.GetEncoding(charset.Trim('"'));
            }
            catch (ArgumentException)
            {
                // Unknown charset: UTF-8 is the best guess.
            }
        }

        return Encoding.UTF8;
    }

    /// <summary>The failure for a body over the cap (also used by the streamed answer, so both say the same).</summary>
    internal static ResponseTooLargeException TooLarge(long maxBytes, string what) =>
        new(string.Create(CultureInfo.InvariantCulture, $"Upstream response too large: {what} exceeds Runtime:MaxResponseBytes ({maxBytes} bytes)."));
}
