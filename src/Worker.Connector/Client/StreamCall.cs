using System.Buffers;
using System.Threading.Channels;
using Worker.Connector.Protocol;

namespace Worker.Connector.Client;

/// <summary>
/// The client side of one streamed request on a <see cref="RuntimeConnection"/>: the read loop feeds it frames, the
/// caller reads its chunks. Chunks wait in a queue bounded by the stream's window (the runtime may not send more
/// than the window; one that does breaks the protocol), so the read loop never waits on a slow reader and a slow
/// reader never holds up the other requests on the connection. Consumed bytes are granted back in StreamWindow
/// frames once half a window has been read.
/// </summary>
internal sealed class StreamCall : IRuntimeStreamReceiver
{
    private readonly IStreamPeer _peer;
    private readonly Channel<Chunk> _chunks;
    private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private Action? _released;
    private long _buffered;
    private long _unacknowledged;
    private int _window;
    private bool _accepted;
    private bool _cancelWanted;
    private bool _endedByRuntime;
    private bool _finished;
    private volatile bool _aborted;
    private Exception? _failure;

    /// <summary>
    /// A stream fed through <paramref name="peer"/> (a connection, or an in-process runtime's stream). With
    /// <paramref name="inlineReader"/> a chunk's arrival runs the waiting reader on the arriving thread: for an
    /// in-process runtime that saves a thread hop per chunk (its upstream read waits meanwhile, as the reader would).
    /// Not for a socket: its one read loop would wait on this stream's reader instead of serving every stream of the
    /// connection.
    /// </summary>
    public StreamCall(IStreamPeer peer, ulong requestId, int askedWindow, Action released, bool inlineReader = false)
    {
        _chunks = Channel.CreateUnbounded<Chunk>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true, AllowSynchronousContinuations = inlineReader });
        _peer = peer;
        RequestId = requestId;
        AskedWindow = askedWindow;
        _released = released;
    }

    public ulong RequestId { get; }

    public int AskedWindow { get; }

    /// <summary>Completes when the head (or a whole answer) arrived; faults with the reason the stream failed before that.</summary>
    public Task Opened => _opened.Task;

    public StreamHeadMessage? Head { get; private set; }

    /// <summary>The whole answer of a runtime that does not stream (the original), or an answer given before streaming began.</summary>
    public ExecuteResponseMessage? Whole { get; private set; }

    public StreamEndMessage? End { get; private set; }

    /// <summary>Bytes received and not yet consumed (never more than the window).</summary>
    public long Buffered
    {
        get
        {
            lock (_gate)
            {
                return _buffered;
            }
        }
    }

    /// <summary>The window the runtime confirmed (0 before StreamStart).</summary>
    public int Window => Volatile.Read(ref _window);

    public bool IsFinished
    {
        get
        {
            lock (_gate)
            {
                return _finished;
            }
        }
    }

    public void OnStart(StreamStartMessage start)
    {
        bool cancel;
        lock (_gate)
        {
            _accepted = true;
            // A runtime raises a tiny ask to its minimum; anything above the protocol's maximum is not believed.
            _window = (int)Math.Min(start.Window, (uint)StreamProtocol.MaxWindow);
            cancel = _cancelWanted && !_endedByRuntime;
        }

        if (cancel)
        {
            // The caller gave up before the runtime had taken the request: it can be cancelled now.
            _peer.SendCancel(RequestId);
        }
    }

    public void OnHead(StreamHeadMessage head)
    {
        if (Head is not null || Whole is not null)
        {
            throw new ProtocolException($"The runtime sent a second head for request {RequestId}.") { RequestId = RequestId };
        }

        Head = head;
        _opened.TrySetResult();
    }

    /// <summary>Queues a copy of <paramref name="data"/>; a chunk past the window is a protocol error (the connection goes).</summary>
    public void OnChunk(ReadOnlySpan<byte> data)
    {
        lock (_gate)
        {
            if (_finished)
            {
                // The caller gave up: what the runtime sent before it saw the cancel is dropped.
                return;
            }

            if (Head is null)
            {
                throw new ProtocolException($"The runtime sent a chunk before the head of request {RequestId}.") { RequestId = RequestId };
            }

            _buffered += data.Length;
            if (_buffered > _window)
            {
                throw new ProtocolException($"The runtime overran the window of request {RequestId}: {_buffered} bytes unread, window {_window}.") { RequestId = RequestId };
            }

            if (data.IsEmpty)
            {
                return;
            }

        }

        var copy = ArrayPool<byte>.Shared.Rent(data.Length);
        data.CopyTo(copy);
        // Outside the lock: an inline reader runs in this call. Refused only when the stream finished meanwhile.
        if (!_chunks.Writer.TryWrite(new Chunk(copy, data.Length)))
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    public void OnEnd(StreamEndMessage end)
    {
        End = end;
        Exception? failure = end.ErrorClass == ErrorClass.Success
            ? null
            : new ConnectorException(end.ErrorClass, end.ErrorMessage ?? $"The runtime ended the stream with {end.ErrorClass}.") { RequestId = RequestId };
        if (Head is null)
        {
            failure ??= new ConnectorException(ErrorClass.Permanent, $"The runtime ended request {RequestId}'s stream without a head.") { RequestId = RequestId };
            _opened.TrySetException(failure);
        }

        Finish(failure, byRuntime: true);
    }

    public void OnWhole(ExecuteResponseMessage response)
    {
        if (Head is not null)
        {
            throw new ProtocolException($"The runtime answered request {RequestId} whole after starting its stream.") { RequestId = RequestId };
        }

        Whole = response;
        _opened.TrySetResult();
        Finish(null, byRuntime: true);
    }

    /// <summary>The connection broke: nothing more will come.</summary>
    public void Fail(Exception failure)
    {
        _opened.TrySetException(failure);
        Finish(failure, byRuntime: true);
    }

    /// <summary>The caller gave up (cancelled, timed out, disposed early): fail the reader and cancel at the runtime.</summary>
    public void Abort(Exception reason)
    {
        bool cancel;
        lock (_gate)
        {
            if (_finished)
            {
                return;
            }

            // The reason first: a reader that sees _aborted throws it, possibly before Finish has run.
            _failure = reason;
            _aborted = true;
            cancel = _accepted && !_endedByRuntime;
            _cancelWanted = !_accepted;
        }

        _opened.TrySetException(reason);
        Finish(reason, byRuntime: false);
        if (cancel)
        {
            _peer.SendCancel(RequestId);
        }
    }

    /// <summary>
    /// The chunks in order. Each one is valid until the next is asked for (its pooled buffer is then reused).
    /// Ends normally at a successful end; throws how the stream failed otherwise.
    /// </summary>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Chunk? previous = null;
        try
        {
            while (true)
            {
                if (previous is { } done)
                {
                    previous = null;
                    ArrayPool<byte>.Shared.Return(done.Array);
                    await ConsumedAsync(done.Length);
                }

                if (_aborted)
                {
                    throw _failure!;
                }

                if (_chunks.Reader.TryRead(out var chunk))
                {
                    previous = chunk;
                    yield return chunk.Array.AsMemory(0, chunk.Length);
                    continue;
                }

                if (!await _chunks.Reader.WaitToReadAsync(cancellationToken))
                {
                    break;
                }
            }

            if (_failure is { } failure)
            {
                throw failure;
            }
        }
        finally
        {
            if (previous is { } last)
            {
                ArrayPool<byte>.Shared.Return(last.Array);
            }
        }
    }

    /// <summary>Returns what is still queued to the pool (the caller is done with the stream).</summary>
    public void Release()
    {
        Abort(new OperationCanceledException("The stream was disposed before it ended."));
        lock (_gate)
        {
            while (_chunks.Reader.TryRead(out var chunk))
            {
                ArrayPool<byte>.Shared.Return(chunk.Array);
            }

            _buffered = 0;
        }
    }

    private async ValueTask ConsumedAsync(int bytes)
    {
        uint grant = 0;
        lock (_gate)
        {
            _buffered -= bytes;
            _unacknowledged += bytes;
            // Half a window at a time: few frames, and the runtime never runs dry while the reader keeps up.
            if (!_finished && _unacknowledged >= Math.Max(1, _window / 2))
            {
                grant = (uint)_unacknowledged;
                _unacknowledged = 0;
            }
        }

        if (grant > 0)
        {
            await _peer.SendWindowAsync(RequestId, grant);
        }
    }

    private void Finish(Exception? failure, bool byRuntime)
    {
        Action? released;
        lock (_gate)
        {
            _endedByRuntime |= byRuntime;
            if (_finished)
            {
                return;
            }

            _finished = true;
            _failure = failure;
            released = _released;
            _released = null;
        }

        // Outside the lock, like a chunk's write: an inline reader runs in this call.
        _chunks.Writer.TryComplete();
        released?.Invoke();
    }

    private readonly record struct Chunk(byte[] Array, int Length);
}
