using System.Buffers;
using System.Runtime.CompilerServices;
using Worker.Connector.Client;

namespace Worker.Connector.Http;

/// <summary>
/// An upstream HTTP answer read as it arrives (<see cref="RuntimeHttpExtensions.StreamHttpAsync"/>): status and
/// headers first, then the body in chunks. From a runtime that does not stream (the original), the same shape with
/// the whole body as one chunk. Dispose it; one given up early is cancelled at the runtime (the upstream call is aborted).
/// </summary>
public sealed class HttpResponseStream : IAsyncDisposable
{
    private readonly RuntimeStream _stream;
    private readonly HttpResponse? _whole;
    private int _read;

    internal HttpResponseStream(RuntimeStream stream, int statusCode, IReadOnlyDictionary<string, string> headers, HttpResponse? whole)
    {
        _stream = stream;
        StatusCode = statusCode;
        Headers = headers;
        _whole = whole;
    }

    public int StatusCode { get; }

    /// <summary>Response headers, names lower-case, looked up case-insensitively.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    /// <summary>True when the body arrives in chunks as the upstream sends it; false when the runtime answered whole.</summary>
    public bool IsStreamed => _whole is null;

    public ulong RequestId => _stream.RequestId;

    /// <summary>Body bytes received and not yet read (never more than the stream's window).</summary>
    public long BufferedBytes => _stream.BufferedBytes;

    public bool Is2xx => StatusCode is >= 200 and < 300;

    public string? ContentType => GetHeader("content-type");

    /// <summary>The upstream answered <c>text/event-stream</c>.</summary>
    public bool IsEventStream => ContentType?.TrimStart().StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase) == true;

    public string? GetHeader(string name) => Headers.TryGetValue(name, out var value) ? value : null;

    /// <summary>
    /// The body's chunks in order, each valid until the next is asked for. Read once. Failures: as
    /// <see cref="RuntimeStream.ReadChunksAsync"/>.
    /// </summary>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadChunksAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _read, 1) != 0)
        {
            throw new InvalidOperationException("The body of a streamed response can be read once.");
        }

        if (_whole is not null)
        {
            if (!_whole.BodyUtf8.IsEmpty)
            {
                yield return _whole.BodyUtf8;
            }

            yield break;
        }

        await foreach (var chunk in _stream.ReadChunksAsync(cancellationToken))
        {
            yield return chunk;
        }
    }

    /// <summary>
    /// The body as a read-only <see cref="Stream"/> (for parsers that read streams, e.g. SSE). With
    /// <paramref name="endWithBlankLine"/> a blank line follows a body that ended normally, so an SSE event without its
    /// own closing blank line is still delivered, as when the runtime returns the stream whole.
    /// </summary>
    public Stream AsStream(bool endWithBlankLine = false) =>
        new ChunkStream(ReadChunksAsync().GetAsyncEnumerator(), endWithBlankLine);

    /// <summary>Reads the whole body (error answers, JSON); more than <paramref name="maxBytes"/> fails Permanent.</summary>
    public async Task<HttpResponse> ReadWholeAsync(int maxBytes, CancellationToken cancellationToken = default)
    {
        if (_whole is not null)
        {
            return _whole;
        }

        var body = new ArrayBufferWriter<byte>(4096);
        await foreach (var chunk in ReadChunksAsync(cancellationToken))
        {
            if (body.WrittenCount + chunk.Length > maxBytes)
            {
                throw new ConnectorException(ErrorClass.Permanent, $"The response body of request {RequestId} exceeds {maxBytes} bytes.") { RequestId = RequestId };
            }

            body.Write(chunk.Span);
        }

        return new HttpResponse
        {
            StatusCode = StatusCode,
            Headers = Headers,
            BodyUtf8 = body.WrittenMemory,
            IsStreaming = IsEventStream,
            Duration = TimeSpan.FromTicks((long)Math.Min((_stream.End?.DurationUs ?? 0) * 10, long.MaxValue / 2)),
            RequestId = RequestId,
        };
    }

    public ValueTask DisposeAsync() => _stream.DisposeAsync();

    /// <summary>A read-only stream over the chunk sequence (the current chunk is copied out as it is read).</summary>
    private sealed class ChunkStream(IAsyncEnumerator<ReadOnlyMemory<byte>> chunks, bool endWithBlankLine) : Stream
    {
        private ReadOnlyMemory<byte> _current;
        private bool _ended;

        private static ReadOnlyMemory<byte> BlankLine { get; } = "\n\n"u8.ToArray();

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            while (_current.IsEmpty)
            {
                if (_ended)
                {
                    return 0;
                }

                cancellationToken.ThrowIfCancellationRequested();
                if (await chunks.MoveNextAsync())
                {
                    _current = chunks.Current;
                }
                else
                {
                    _ended = true;
                    _current = endWithBlankLine ? BlankLine : ReadOnlyMemory<byte>.Empty;
                }
            }

            var n = Math.Min(buffer.Length, _current.Length);
            _current[..n].CopyTo(buffer);
            _current = _current[n..];
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) =>
            throw new NotSupportedException("Read the stream asynchronously.");

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async ValueTask DisposeAsync()
        {
            await chunks.DisposeAsync();
            await base.DisposeAsync();
        }
    }
}
