using System.Buffers;
using Google.FlatBuffers;

namespace Worker.Connector.Protocol;

/// <summary>
/// Writes whole frames to a stream for many callers, coalescing them: a frame is built and queued at once, and the
/// frames queued while the previous write is on the socket go out together in the next one (group commit). An idle
/// writer writes a frame at once, on the caller's thread; under load one <c>write</c> carries many frames, which is
/// what a socket's cost is counted in. The builder and the two batch buffers are reused, so a steady stream of frames
/// allocates one task source per batch and nothing per frame.
/// </summary>
public sealed class FrameWriter : IDisposable
{
    private const int InitialBuilderSize = 1024;
    private const int MaxRetainedBuilderSize = 1024 * 1024;
    private const int InitialBatchSize = 4 * 1024;
    private const int MaxRetainedBatchSize = 1024 * 1024;

    // Room for the table, strings and alignment around a large payload.
    private const int LargeMessageSlack = 64 * 1024;

    // Smaller messages use the retained builder: it grows to fit once and stays (up to MaxRetainedBuilderSize).
    private const int LargeMessage = 64 * 1024;
    private readonly Stream _stream;
    private readonly Lock _lock = new();
    private FlatBufferBuilder _builder = new(InitialBuilderSize);

    // Frames queued for the next write, and the batch being written (if any). The first frame of a batch makes its
    // caller the batch's writer: it waits for the write before it, then writes everything queued by then.
    private Batch _queued = new();
    private Batch _spare = new();
    private Task? _writing;
    private Exception? _failure;
    private bool _disposed;

    public FrameWriter(Stream stream)
    {
        _stream = stream;
    }

    /// <summary>
    /// Builds a payload with <paramref name="build"/>, queues the frame and returns once it has been written.
    /// <paramref name="cancellationToken"/> is only looked at before the frame is queued: once queued it is written
    /// whole, because a half-written frame would break the connection for every other request on it.
    /// </summary>
    /// <remarks>
    /// <paramref name="sizeHint"/> is the expected payload size: a large message is built in a pooled buffer of that
    /// size instead of growing the builder by doubling (16 MiB of garbage for a 4 MiB answer).
    /// </remarks>
    public ValueTask WriteAsync<TState>(MessageType type, TState state, Action<FlatBufferBuilder, TState> build, CancellationToken cancellationToken, int sizeHint = 0)
    {
        ArgumentNullException.ThrowIfNull(build);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            Turn turn;
            lock (_lock)
            {
                ThrowIfUnusable();
                turn = Queue(type, state, build, sizeHint);
            }

            return Await(turn);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    /// <summary>Writes raw bytes as a frame (used by tests and by tools that relay frames).</summary>
    public ValueTask WriteRawAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            Turn turn;
            lock (_lock)
            {
                ThrowIfUnusable();
                _queued.Append(frame.Span);
                turn = Join(_queued);
            }

            return Await(turn);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    private ValueTask Await(Turn turn) => turn.Writes ? WriteBatchAsync(turn.Batch, turn.Written, turn.Before) : new ValueTask(turn.Written.Task);

    // Under _lock: builds the frame into the queued batch.
    private Turn Queue<TState>(MessageType type, TState state, Action<FlatBufferBuilder, TState> build, int sizeHint)
    {
        byte[]? large = null;
        try
        {
            var builder = _builder;
            if (sizeHint > LargeMessage)
            {
                large = ArrayPool<byte>.Shared.Rent(sizeHint + LargeMessageSlack);
                builder = new FlatBufferBuilder(new ByteBuffer(large));
            }

            build(builder, state);
            var payload = IpcSerializer.Finished(builder);
            // The header first, on the stack: a payload over the limit throws before anything is queued.
            Span<byte> header = stackalloc byte[FrameCodec.HeaderSize];
            FrameCodec.WriteHeader(header, type, payload.Count);
            var batch = _queued;
            var frame = batch.Reserve(FrameCodec.HeaderSize + payload.Count);
            header.CopyTo(frame);
            payload.AsSpan().CopyTo(frame[FrameCodec.HeaderSize..]);
            return Join(batch);
        }
        finally
        {
            if (large is not null)
            {
                ArrayPool<byte>.Shared.Return(large);
            }

            // A builder grown by one huge message would keep its memory; start small again.
            if (_builder.DataBuffer.Length > MaxRetainedBuilderSize)
            {
                _builder = new FlatBufferBuilder(InitialBuilderSize);
            }
        }
    }

    // Under _lock, after a frame went into the batch: the batch's first frame makes its caller the writer.
    private Turn Join(Batch batch)
    {
        if (batch.Written is { } joined)
        {
            return new Turn(batch, joined, false, null);
        }

        var written = batch.Written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var before = _writing;
        _writing = written.Task;
        return new Turn(batch, written, true, before);
    }

    /// <summary>A caller's part in a batch: the batch, its completion, and whether the caller writes it (after <c>Before</c>).</summary>
    private readonly record struct Turn(Batch Batch, TaskCompletionSource Written, bool Writes, Task? Before);

    private async ValueTask WriteBatchAsync(Batch batch, TaskCompletionSource written, Task? before)
    {
        try
        {
            if (before is null or { IsCompleted: true } && ThreadPool.PendingWorkItemCount > 0)
            {
                // Busy: the work queued ahead (other requests' steps) is likely to write frames too. Going to the end
                // of the queue once lets them join this write, instead of a socket write each.
                await Task.Yield();
            }

            if (before is not null)
            {
                // One write at a time, in order; frames keep joining this batch meanwhile.
                await before.ConfigureAwait(false);
            }

            lock (_lock)
            {
                // Taken: frames from now on go into the next batch (the buffer of the write just finished).
                _queued = _spare;
                _spare = batch;
            }

            await _stream.WriteAsync(batch.Memory, CancellationToken.None).ConfigureAwait(false);
            await _stream.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Exception failure;
            lock (_lock)
            {
                failure = _failure ??= ex;
                batch.Reset();
            }

            // Everyone in the batch hears why (a failed write before it included: it was never written).
            written.TrySetException(failure);
            throw;
        }

        lock (_lock)
        {
            batch.Reset();
        }

        written.TrySetResult();
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_failure is { } failure)
        {
            // A frame after a failed write would follow a frame that may be half written.
            throw new IOException($"An earlier write on this connection failed: {failure.Message}", failure);
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            // A batch still being written keeps its buffer until the pool gets it back with the next Reset.
            if (_queued.Written is null)
            {
                _queued.Release();
            }

            if (_spare.Written is null)
            {
                _spare.Release();
            }
        }
    }

    /// <summary>Frames for one write, in a pooled buffer that grows to fit and is kept (up to a size) for the next.</summary>
    private sealed class Batch
    {
        private byte[] _buffer = [];
        private int _length;

        /// <summary>Completed when the batch is written (or failed); null until its first frame.</summary>
        public TaskCompletionSource? Written { get; set; }

        public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, _length);

        public Span<byte> Reserve(int size)
        {
            if (_buffer.Length - _length < size)
            {
                var grown = ArrayPool<byte>.Shared.Rent(Math.Max(InitialBatchSize, Math.Max(_length + size, _buffer.Length * 2)));
                _buffer.AsSpan(0, _length).CopyTo(grown);
                Release();
                _buffer = grown;
            }

            var span = _buffer.AsSpan(_length, size);
            _length += size;
            return span;
        }

        public void Append(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Reserve(bytes.Length));

        public void Reset()
        {
            _length = 0;
            Written = null;
            if (_buffer.Length > MaxRetainedBatchSize)
            {
                // One huge answer should not pin its buffer for the connection's life.
                Release();
            }
        }

        public void Release()
        {
            if (_buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = [];
            }
        }
    }
}
