using System.Buffers;
using Google.FlatBuffers;

namespace Worker.Connector.Protocol;

/// <summary>
/// Writes whole frames to a stream, one at a time (writes from many callers are serialized). The FlatBuffers builder
/// and the frame buffer are reused, so a steady stream of frames allocates nothing per frame.
/// </summary>
public sealed class FrameWriter : IDisposable
{
    private const int InitialBuilderSize = 1024;
    private const int MaxRetainedBuilderSize = 1024 * 1024;

    // Room for the table, strings and alignment around a large payload.
    private const int LargeMessageSlack = 64 * 1024;

    // Smaller messages use the retained builder: it grows to fit once and stays (up to MaxRetainedBuilderSize).
    private const int LargeMessage = 64 * 1024;
    private readonly Stream _stream;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private FlatBufferBuilder _builder = new(InitialBuilderSize);

    public FrameWriter(Stream stream)
    {
        _stream = stream;
    }

    /// <summary>
    /// Builds a payload with <paramref name="build"/> and writes the frame. <paramref name="cancellationToken"/> only
    /// cancels the wait for the writer: once a frame has started it is written whole, because a half-written frame
    /// would break the connection for every other request on it.
    /// </summary>
    /// <remarks>
    /// <paramref name="sizeHint"/> is the expected payload size: a large message is built in a pooled buffer of that
    /// size instead of growing the builder by doubling (16 MiB of garbage for a 4 MiB answer).
    /// </remarks>
    public async ValueTask WriteAsync<TState>(MessageType type, TState state, Action<FlatBufferBuilder, TState> build, CancellationToken cancellationToken, int sizeHint = 0)
    {
        ArgumentNullException.ThrowIfNull(build);
        await _lock.WaitAsync(cancellationToken);
        byte[]? frame = null;
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
            frame = ArrayPool<byte>.Shared.Rent(FrameCodec.HeaderSize + payload.Count);
            FrameCodec.WriteHeader(frame, type, payload.Count);
            payload.AsSpan().CopyTo(frame.AsSpan(FrameCodec.HeaderSize));
            await _stream.WriteAsync(frame.AsMemory(0, FrameCodec.HeaderSize + payload.Count), CancellationToken.None);
            await _stream.FlushAsync(CancellationToken.None);
        }
        finally
        {
            if (frame is not null)
            {
                ArrayPool<byte>.Shared.Return(frame);
            }

            if (large is not null)
            {
                ArrayPool<byte>.Shared.Return(large);
            }

            // A builder grown by one huge message would keep its memory; start small again.
            if (_builder.DataBuffer.Length > MaxRetainedBuilderSize)
            {
                _builder = new FlatBufferBuilder(InitialBuilderSize);
            }

            _lock.Release();
        }
    }

    /// <summary>Writes raw bytes as a frame (used by tests and by tools that relay frames).</summary>
    public async ValueTask WriteRawAsync(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            await _stream.WriteAsync(frame, CancellationToken.None);
            await _stream.FlushAsync(CancellationToken.None);
        }
        finally
        {
            _lock.Release();
        }
    }

    public void Dispose() => _lock.Dispose();
}
