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

    public static async Task<(string Text, long Bytes)> ReadAsync(HttpContent content, long maxBytes, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength is { } declared && declared > maxBytes)
        {
            throw TooLarge(maxBytes, string.Create(CultureInfo.InvariantCulture, $"Content-Length {declared}"));
        }

        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        var size = (int)Math.Min(content.Headers.ContentLength ?? InitialBuffer, maxBytes) + 1;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(size, 256));
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

            return (Decode(content, buffer.AsSpan(0, length)), length);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The declared charset when .NET knows it, else UTF-8 (invalid bytes become U+FFFD).</summary>
    private static string Decode(HttpContent content, ReadOnlySpan<byte> bytes)
    {
        var encoding = Encoding.UTF8;
        if (content.Headers.ContentType?.CharSet is { Length: > 0 } charset)
        {
            try
            {
                encoding = Encoding.GetEncoding(charset.Trim('"'));
            }
            catch (ArgumentException)
            {
                // Unknown charset: UTF-8 is the best guess.
            }
        }

        return encoding.GetString(bytes);
    }

    private static ResponseTooLargeException TooLarge(long maxBytes, string what) =>
        new(string.Create(CultureInfo.InvariantCulture, $"Upstream response too large: {what} exceeds Runtime:MaxResponseBytes ({maxBytes} bytes)."));
}
