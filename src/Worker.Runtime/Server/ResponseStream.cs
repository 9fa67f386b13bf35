using Worker.Connector.Protocol;

namespace Worker.Runtime.Server;

/// <summary>
/// One request answered as a stream: its window (bytes the client has room for), and the frames it writes through
/// its connection. The operation waits for window before it reads the upstream, so it never holds more than one
/// chunk, and a stream whose client reads slowly stops reading its upstream instead of buffering.
/// </summary>
internal sealed class ResponseStream : IResponseStream
{
    /// <summary>Largest chunk read from the upstream at once (and sent as one StreamChunk frame).</summary>
    public const int ChunkSize = 16 * 1024;

    private readonly Lock _gate = new();
    private readonly IStreamFrameWriter _writer;
    private readonly StreamStatistics _statistics;
    private long _window;
    private TaskCompletionSource? _granted;

    public ResponseStream(ulong requestId, int window, IStreamFrameWriter writer, StreamStatistics statistics)
    {
        RequestId = requestId;
        Window = window;
        _window = window;
        _writer = writer;
        _statistics = statistics;
    }

    public ulong RequestId { get; }

    /// <summary>The window in force (the client's ask, clamped): the most unconsumed bytes the client may hold.</summary>
    public int Window { get; }

    public int MaxChunk => Math.Min(ChunkSize, Window);

    /// <summary>The client consumed <paramref name="bytes"/> more. Never raises the window above <see cref="Window"/>.</summary>
    public void Grant(uint bytes)
    {
        TaskCompletionSource? granted;
        lock (_gate)
        {
            // A client that grants more than it was sent gets no more than its window either.
            _window = Math.Min(_window + bytes, Window);
            granted = _granted;
            _granted = null;
        }

        granted?.TrySetResult();
    }

    public ValueTask WriteHeadAsync(int statusCode, IReadOnlyList<KeyValuePair<string, string>> headers, CancellationToken cancellationToken) =>
        _writer.WriteHeadAsync(new StreamHeadMessage { RequestId = RequestId, StatusCode = statusCode, Headers = headers });

    public async ValueTask<int> WaitForWindowAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (_window > 0)
                {
                    return (int)Math.Min(_window, MaxChunk);
                }

                _granted ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _granted.Task;
            }

            _statistics.WindowWait();
            await wait.WaitAsync(cancellationToken);
        }
    }

    public async ValueTask WriteChunkAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (data.Length > _window)
            {
                throw new InvalidOperationException($"A chunk of {data.Length} bytes exceeds the {_window} bytes of window left.");
            }

            _window -= data.Length;
        }

        // The chunk is all this stream holds: read from the upstream, not yet written to the client.
        _statistics.Chunk(data.Length);
        await _writer.WriteChunkAsync(RequestId, data);
    }
}

/// <summary>
/// Where a <see cref="ResponseStream"/> goes: a connection's frames (<see cref="ClientConnection"/>), or the calls of a
/// client in the same process (<see cref="LocalRuntime"/>).
/// </summary>
internal interface IStreamFrameWriter
{
    /// <exception cref="OperationCanceledException">The client is gone (the connection is closing, the write failed, or the caller cancelled).</exception>
    ValueTask WriteHeadAsync(StreamHeadMessage head);

    /// <exception cref="OperationCanceledException">As for <see cref="WriteHeadAsync"/>.</exception>
    ValueTask WriteChunkAsync(ulong requestId, ReadOnlyMemory<byte> data);
}
