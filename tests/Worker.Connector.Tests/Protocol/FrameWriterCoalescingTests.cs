using Worker.Connector.Protocol;

namespace Worker.Connector.Tests.Protocol;

/// <summary>
/// The writer's group commit: frames queued while a write is on the stream go out together in the next write, whole
/// and in the order they were queued; a failed write fails its batch and every later frame.
/// </summary>
public sealed class FrameWriterCoalescingTests
{
    [Fact]
    public async Task An_idle_writer_writes_each_frame_at_once()
    {
        using var stream = new GatedStream();
        using var writer = new FrameWriter(stream);
        stream.Open();
        for (ulong id = 1; id <= 3; id++)
        {
            await writer.WriteAsync(MessageType.StreamWindow, new StreamWindowMessage(id, 10), IpcSerializer.Write, CancellationToken.None);
        }

        Assert.Equal(3, stream.Writes);
        Assert.Equal(new ulong[] { 1, 2, 3 }, await ReadWindowIdsAsync(stream));
    }

    [Fact]
    public async Task Frames_queued_during_a_write_go_out_together_whole_and_in_order()
    {
        using var stream = new GatedStream();
        using var writer = new FrameWriter(stream);
        // The first frame's write blocks on the stream; 49 more are queued meanwhile.
        var first = Window(writer, 1);
        await stream.FirstWriteStarted;
        var queued = new List<Task>();
        for (ulong id = 2; id <= 50; id++)
        {
            queued.Add(Window(writer, id));
        }

        Assert.All(queued, task => Assert.False(task.IsCompleted));
        stream.Open();
        await first;
        await Task.WhenAll(queued);

        Assert.Equal(2, stream.Writes);
        Assert.Equal(Enumerable.Range(1, 50).Select(i => (ulong)i), await ReadWindowIdsAsync(stream));
    }

    [Fact]
    public async Task A_failed_write_fails_its_batch_and_every_later_frame()
    {
        using var stream = new GatedStream();
        using var writer = new FrameWriter(stream);
        var first = Window(writer, 1);
        await stream.FirstWriteStarted;
        var second = Window(writer, 2);
        stream.Fail(new IOException("peer went away"));

        Assert.Equal("peer went away", (await Assert.ThrowsAsync<IOException>(() => first)).Message);
        Assert.Equal("peer went away", (await Assert.ThrowsAsync<IOException>(() => second)).Message);
        var later = await Assert.ThrowsAsync<IOException>(async () =>
            await writer.WriteAsync(MessageType.StreamWindow, new StreamWindowMessage(3, 10), IpcSerializer.Write, CancellationToken.None));
        Assert.Contains("peer went away", later.Message, StringComparison.Ordinal);
        Assert.Equal(1, stream.Writes);
    }

    [Fact]
    public async Task A_cancelled_caller_queues_nothing_and_a_disposed_writer_refuses()
    {
        using var stream = new GatedStream();
        var writer = new FrameWriter(stream);
        stream.Open();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await writer.WriteAsync(MessageType.StreamWindow, new StreamWindowMessage(1, 10), IpcSerializer.Write, new CancellationToken(canceled: true)));
        Assert.Equal(0, stream.Writes);

        writer.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () =>
            await writer.WriteAsync(MessageType.StreamWindow, new StreamWindowMessage(2, 10), IpcSerializer.Write, CancellationToken.None));
        Assert.Equal(0, stream.Writes);
    }

    [Fact]
    public async Task A_payload_over_the_limit_is_refused_before_it_is_queued()
    {
        using var stream = new GatedStream();
        using var writer = new FrameWriter(stream);
        stream.Open();
        var huge = new ExecuteResponseMessage { RequestId = 9, Payload = new byte[FrameCodec.MaxPayloadLength + 1] };
        await Assert.ThrowsAsync<ProtocolException>(async () =>
            await writer.WriteAsync(MessageType.ExecuteResponse, huge, IpcSerializer.Write, CancellationToken.None, huge.Payload.Length));

        // The connection is still good: the next frame is the only thing on it.
        await writer.WriteAsync(MessageType.StreamWindow, new StreamWindowMessage(1, 10), IpcSerializer.Write, CancellationToken.None);
        Assert.Equal(new ulong[] { 1 }, await ReadWindowIdsAsync(stream));
    }

    private static Task Window(FrameWriter writer, ulong id) =>
        writer.WriteAsync(MessageType.StreamWindow, new StreamWindowMessage(id, 10), IpcSerializer.Write, CancellationToken.None).AsTask();

    private static async Task<List<ulong>> ReadWindowIdsAsync(GatedStream stream)
    {
        var reader = new FrameReader(new MemoryStream(stream.Written));
        var ids = new List<ulong>();
        while (await reader.ReadAsync(CancellationToken.None) is { } frame)
        {
            using (frame)
            {
                Assert.Equal(MessageType.StreamWindow, frame.Type);
                ids.Add(IpcSerializer.ReadStreamWindow(frame.Buffer, frame.Length).RequestId);
            }
        }

        return ids;
    }

    /// <summary>A stream whose first write waits until <see cref="Open"/> (or fails with <see cref="Fail"/>); it counts writes.</summary>
    private sealed class GatedStream : Stream
    {
        private readonly MemoryStream _bytes = new();
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _firstWrite = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _writes;

        public Task FirstWriteStarted => _firstWrite.Task;

        public int Writes => Volatile.Read(ref _writes);

        public byte[] Written => _bytes.ToArray();

        public void Open() => _gate.TrySetResult();

        public void Fail(Exception failure) => _gate.TrySetException(failure);

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _writes);
            _firstWrite.TrySetResult();
            await _gate.Task;
            _bytes.Write(buffer.Span);
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
