using System.Net.ServerSentEvents;
using System.Text;

namespace Worker.Connector.Sse;

/// <summary>
/// Server-sent events framing via the in-box <see cref="SseParser"/> (CRLF/LF/CR line ends, multi-line data,
/// comments, event names, ids). Streamed answers are parsed as they arrive (<see cref="ParseAsync{T}"/>); a whole
/// body (from a runtime that does not stream) is parsed from memory.
/// </summary>
public static class SseEvents
{
    /// <summary>The data value OpenAI-style streams end with.</summary>
    public const string DoneMarker = "[DONE]";

    /// <summary>
    /// Parses a whole SSE body into events with string data. A whole body is a stream that has ended, so its end
    /// also ends the last event: an event without a trailing blank line is delivered (a live stream would drop it).
    /// </summary>
    public static IEnumerable<SseItem<string>> Parse(string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return SseParser.Create(new WholeBodyStream(Encoding.UTF8.GetBytes(body))).Enumerate();
    }

    /// <summary>Like <see cref="Parse(string)"/>, turning each event's UTF-8 data into <typeparamref name="T"/> without an intermediate string.</summary>
    public static IEnumerable<SseItem<T>> Parse<T>(ReadOnlyMemory<byte> utf8Body, SseItemParser<T> itemParser) =>
        SseParser.Create(new WholeBodyStream(utf8Body), itemParser).Enumerate();

    /// <summary>Parses an SSE stream as it arrives.</summary>
    public static IAsyncEnumerable<SseItem<T>> ParseAsync<T>(Stream stream, SseItemParser<T> itemParser, CancellationToken cancellationToken = default) =>
        SseParser.Create(stream, itemParser).EnumerateAsync(cancellationToken);

    /// <summary>
    /// True when a body is an event stream rather than JSON: like the seed, a body whose first non-blank line is an
    /// SSE field (<c>data:</c>, <c>event:</c>, <c>id:</c>) or a comment is parsed as SSE even when JSON was asked for.
    /// </summary>
    public static bool LooksLikeEventStream(ReadOnlySpan<char> body)
    {
        body = body.TrimStart();
        return body.StartsWith("data:", StringComparison.Ordinal) || body.StartsWith("event:", StringComparison.Ordinal)
            || body.StartsWith("id:", StringComparison.Ordinal) || body.StartsWith(':');
    }

    /// <summary>Like <see cref="LooksLikeEventStream(ReadOnlySpan{char})"/>, on UTF-8.</summary>
    public static bool LooksLikeEventStream(ReadOnlySpan<byte> utf8Body)
    {
        utf8Body = utf8Body.TrimStart(" \t\r\n"u8);
        return utf8Body.StartsWith("data:"u8) || utf8Body.StartsWith("event:"u8) || utf8Body.StartsWith("id:"u8)
            || (utf8Body.Length > 0 && utf8Body[0] == (byte)':');
    }

    /// <summary>True when the event's data is the <c>[DONE]</c> marker.</summary>
    public static bool IsDone(ReadOnlySpan<byte> data) => data.Trim(" \t"u8).SequenceEqual("[DONE]"u8);

    /// <summary>A read-only stream over memory (not copied), followed by a blank line that ends any open event.</summary>
    private sealed class WholeBodyStream(ReadOnlyMemory<byte> body) : Stream
    {
        private int _position;

        private static ReadOnlySpan<byte> Terminator => "\n\n"u8;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => body.Length + Terminator.Length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var source = _position < body.Length ? body.Span[_position..] : Terminator[Math.Min(_position - body.Length, Terminator.Length)..];
            var n = Math.Min(buffer.Length, source.Length);
            source[..n].CopyTo(buffer);
            _position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
