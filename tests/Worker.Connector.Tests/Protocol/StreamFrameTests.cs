using System.Buffers;
using Google.FlatBuffers;
using Worker.Connector.Protocol;

namespace Worker.Connector.Tests.Protocol;

/// <summary>The streamed-response messages (types 5-10): round trips through whole frames, and hostile payloads.</summary>
public sealed class StreamFrameTests
{
    [Fact]
    public void Message_types_follow_the_original_ones_and_are_known()
    {
        Assert.Equal(5, (byte)MessageType.CancelRequest);
        Assert.Equal(6, (byte)MessageType.StreamWindow);
        Assert.Equal(7, (byte)MessageType.StreamStart);
        Assert.Equal(8, (byte)MessageType.StreamHead);
        Assert.Equal(9, (byte)MessageType.StreamChunk);
        Assert.Equal(10, (byte)MessageType.StreamEnd);
        using var last = Decode(FrameCodec.Encode(MessageType.StreamEnd, [1]));
        using var next = Decode(FrameCodec.Encode((MessageType)11, [1]));
        Assert.True(last.IsKnownType);
        Assert.False(next.IsKnownType);
    }

    [Fact]
    public void StreamStart_round_trips()
    {
        using var frame = RoundTrip(MessageType.StreamStart, new StreamStartMessage(ulong.MaxValue, 65536), IpcSerializer.Write);
        Assert.Equal(new StreamStartMessage(ulong.MaxValue, 65536), IpcSerializer.ReadStreamStart(frame.Buffer, frame.Length));
    }

    [Fact]
    public void StreamHead_round_trips_with_and_without_headers()
    {
        var head = new StreamHeadMessage
        {
            RequestId = 42,
            StatusCode = 429,
            Headers = [new("content-type", "text/event-stream"), new("retry-after", "7"), new("x-empty", "")],
        };
        using (var frame = RoundTrip(MessageType.StreamHead, head, IpcSerializer.Write))
        {
            var read = IpcSerializer.ReadStreamHead(frame.Buffer, frame.Length);
            Assert.Equal(42UL, read.RequestId);
            Assert.Equal(429, read.StatusCode);
            Assert.Equal(head.Headers, read.Headers);
        }

        using (var bare = RoundTrip(MessageType.StreamHead, new StreamHeadMessage { RequestId = 1, StatusCode = 200 }, IpcSerializer.Write))
        {
            Assert.Empty(IpcSerializer.ReadStreamHead(bare.Buffer, bare.Length).Headers);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(16 * 1024)]
    public void StreamChunk_round_trips_raw_bytes_without_copying_on_read(int size)
    {
        var data = new byte[size];
        new Random(size).NextBytes(data);
        using var frame = RoundTrip(MessageType.StreamChunk, (7UL, (ReadOnlyMemory<byte>)data), IpcSerializer.WriteStreamChunk);

        var id = IpcSerializer.ReadStreamChunk(frame.Buffer, frame.Length, out var read);
        Assert.Equal(7UL, id);
        Assert.Equal(data, read.AsSpan().ToArray());
        Assert.True(size == 0 || ReferenceEquals(frame.Buffer, read.Array), "the chunk should point into the frame's buffer");
    }

    [Fact]
    public void StreamEnd_round_trips_success_and_failure()
    {
        var failed = new StreamEndMessage { RequestId = 9, ErrorClass = ErrorClass.Timeout, ErrorMessage = "Deadline exceeded", DurationUs = 1234 };
        using (var frame = RoundTrip(MessageType.StreamEnd, failed, IpcSerializer.Write))
        {
            Assert.Equal(failed, IpcSerializer.ReadStreamEnd(frame.Buffer, frame.Length));
        }

        var ok = new StreamEndMessage { RequestId = 10, DurationUs = 5 };
        using (var frame = RoundTrip(MessageType.StreamEnd, ok, IpcSerializer.Write))
        {
            Assert.Equal(ok, IpcSerializer.ReadStreamEnd(frame.Buffer, frame.Length));
        }
    }

    [Fact]
    public void StreamWindow_and_CancelRequest_round_trip()
    {
        using (var frame = RoundTrip(MessageType.StreamWindow, new StreamWindowMessage(3, uint.MaxValue), IpcSerializer.Write))
        {
            Assert.Equal(new StreamWindowMessage(3, uint.MaxValue), IpcSerializer.ReadStreamWindow(frame.Buffer, frame.Length));
        }

        using (var frame = RoundTrip(MessageType.CancelRequest, new CancelRequestMessage(4), IpcSerializer.Write))
        {
            Assert.Equal(new CancelRequestMessage(4), IpcSerializer.ReadCancelRequest(frame.Buffer, frame.Length));
        }
    }

    [Fact]
    public void Garbage_payloads_of_the_new_types_are_protocol_errors_not_crashes()
    {
        var readers = new Action<byte[]>[]
        {
            p => IpcSerializer.ReadStreamStart(p, p.Length),
            p => IpcSerializer.ReadStreamHead(p, p.Length),
            p => IpcSerializer.ReadStreamChunk(p, p.Length, out _),
            p => IpcSerializer.ReadStreamEnd(p, p.Length),
            p => IpcSerializer.ReadStreamWindow(p, p.Length),
            p => IpcSerializer.ReadCancelRequest(p, p.Length),
        };
        var valid = ValidPayloads();
        var random = new Random(4321);
        for (var i = 0; i < 10_000; i++)
        {
            byte[] payload;
            if (i % 2 == 0)
            {
                payload = new byte[random.Next(0, 64)];
                random.NextBytes(payload);
            }
            else
            {
                // A valid payload with a few bytes flipped or cut short: offsets that point anywhere.
                payload = (byte[])valid[random.Next(valid.Length)].Clone();
                for (var flips = random.Next(1, 4); flips > 0; flips--)
                {
                    payload[random.Next(payload.Length)] = (byte)random.Next(256);
                }

                payload = payload[..random.Next(0, payload.Length + 1)];
            }

            try
            {
                readers[i % readers.Length](payload);
            }
            catch (ProtocolException)
            {
            }
        }
    }

    [Fact]
    public void The_stream_header_asks_for_a_clamped_window()
    {
        static ExecuteRequestMessage With(params KeyValuePair<string, string>[] headers) => new()
        {
            RequestId = 1,
            TenantId = "t",
            ConnectorName = "http",
            Operation = "request",
            Headers = headers,
        };

        Assert.False(StreamProtocol.TryGetWindow(With(), out _));
        Assert.False(StreamProtocol.TryGetWindow(With(KeyValuePair.Create("x-worker-stream", "yes")), out _));
        Assert.True(StreamProtocol.TryGetWindow(With(StreamProtocol.Header(65536)), out var window));
        Assert.Equal(65536, window);
        Assert.True(StreamProtocol.TryGetWindow(With(KeyValuePair.Create("X-Worker-Stream", "1")), out window));
        Assert.Equal(StreamProtocol.MinWindow, window);
        Assert.True(StreamProtocol.TryGetWindow(With(KeyValuePair.Create("x-worker-stream", "99999999999")), out window));
        Assert.Equal(StreamProtocol.MaxWindow, window);
    }

    private static byte[][] ValidPayloads() =>
    [
        Payload(new StreamStartMessage(1, 4096), IpcSerializer.Write),
        Payload(new StreamHeadMessage { RequestId = 2, StatusCode = 200, Headers = [new("a", "b"), new("content-type", "text/event-stream")] }, IpcSerializer.Write),
        Payload((3UL, (ReadOnlyMemory<byte>)"data: {}\n\n"u8.ToArray()), IpcSerializer.WriteStreamChunk),
        Payload(new StreamEndMessage { RequestId = 4, ErrorClass = ErrorClass.Transient, ErrorMessage = "boom" }, IpcSerializer.Write),
        Payload(new StreamWindowMessage(5, 100), IpcSerializer.Write),
        Payload(new CancelRequestMessage(6), IpcSerializer.Write),
    ];

    private static byte[] Payload<T>(T message, Action<FlatBufferBuilder, T> build)
    {
        var builder = new FlatBufferBuilder(64);
        build(builder, message);
        return IpcSerializer.Finished(builder).ToArray();
    }

    private static Frame RoundTrip<T>(MessageType type, T message, Action<FlatBufferBuilder, T> build)
    {
        var frame = Decode(FrameCodec.Encode(type, Payload(message, build)));
        Assert.Equal(type, frame.Type);
        return frame;
    }

    private static Frame Decode(byte[] bytes)
    {
        var sequence = new ReadOnlySequence<byte>(bytes);
        Assert.True(FrameCodec.TryReadFrame(ref sequence, out var frame));
        Assert.True(sequence.IsEmpty);
        return frame;
    }
}
