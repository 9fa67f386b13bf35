using System.Buffers;
using System.Buffers.Binary;
using Worker.Connector.Protocol;

namespace Worker.Connector.Tests.Protocol;

public sealed class FrameCodecTests
{
    [Fact]
    public void Zero_length_payload_round_trips()
    {
        var bytes = FrameCodec.Encode(MessageType.HealthCheck, []);
        Assert.Equal(new byte[] { 0, 0, 0, 1, 2 }, bytes);
        var sequence = new ReadOnlySequence<byte>(bytes);
        Assert.True(FrameCodec.TryReadFrame(ref sequence, out var frame));
        using (frame)
        {
            Assert.Equal(MessageType.HealthCheck, frame.Type);
            Assert.Equal(0, frame.Length);
        }

        Assert.True(sequence.IsEmpty);
    }

    [Fact]
    public void Exactly_ten_mebibytes_is_accepted()
    {
        var payload = new byte[FrameCodec.MaxPayloadLength];
        payload[^1] = 0xAB;
        var sequence = new ReadOnlySequence<byte>(FrameCodec.Encode(MessageType.ExecuteRequest, payload));
        Assert.True(FrameCodec.TryReadFrame(ref sequence, out var frame));
        using (frame)
        {
            Assert.Equal(FrameCodec.MaxPayloadLength, frame.Length);
            Assert.Equal(0xAB, frame.Payload[^1]);
        }
    }

    [Fact]
    public void Ten_mebibytes_plus_one_is_refused_from_the_header_alone()
    {
        var header = new byte[FrameCodec.HeaderSize];
        BinaryPrimitives.WriteUInt32BigEndian(header, FrameCodec.MaxPayloadLength + 2);
        var sequence = new ReadOnlySequence<byte>(header);
        var ex = Assert.Throws<ProtocolException>(() => FrameCodec.TryReadFrame(ref sequence, out _));
        Assert.Contains("exceeds", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ProtocolException>(() => FrameCodec.Encode(MessageType.ExecuteRequest, new byte[FrameCodec.MaxPayloadLength + 1]));
    }

    [Fact]
    public void Huge_length_is_refused_without_allocating()
    {
        var header = new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0 };
        var before = GC.GetAllocatedBytesForCurrentThread();
        Assert.Throws<ProtocolException>(() => FrameCodec.ReadHeader(header));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 64 * 1024);
    }

    [Fact]
    public void Length_zero_is_refused()
    {
        Assert.Throws<ProtocolException>(() => FrameCodec.ReadHeader(new byte[] { 0, 0, 0, 0, 0 }));
    }

    [Fact]
    public void Truncated_header_and_truncated_payload_wait_for_more_bytes()
    {
        var frame = FrameCodec.Encode(MessageType.ExecuteRequest, new byte[] { 1, 2, 3, 4 });
        var header = new ReadOnlySequence<byte>(frame.AsMemory(0, 3));
        Assert.False(FrameCodec.TryReadFrame(ref header, out _));
        var partial = new ReadOnlySequence<byte>(frame.AsMemory(0, frame.Length - 1));
        Assert.False(FrameCodec.TryReadFrame(ref partial, out _));
        Assert.Equal(frame.Length - 1, partial.Length);
    }

    [Fact]
    public async Task Stream_ending_mid_header_or_mid_payload_is_a_protocol_error()
    {
        var frame = FrameCodec.Encode(MessageType.ExecuteRequest, new byte[] { 1, 2, 3, 4 });
        foreach (var cut in new[] { 3, frame.Length - 1 })
        {
            var reader = new FrameReader(new MemoryStream(frame[..cut]));
            var ex = await Assert.ThrowsAsync<ProtocolException>(async () => await reader.ReadAsync(CancellationToken.None));
            Assert.Contains("middle of a frame", ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Clean_end_between_frames_reads_as_null_after_the_frames()
    {
        var one = FrameCodec.Encode(MessageType.HealthCheck, []);
        var two = FrameCodec.Encode(MessageType.CreditUpdate, new byte[] { 9 });
        var reader = new FrameReader(new MemoryStream([.. one, .. two]));
        using (var first = (await reader.ReadAsync(CancellationToken.None))!.Value)
        {
            Assert.Equal(MessageType.HealthCheck, first.Type);
        }

        using (var second = (await reader.ReadAsync(CancellationToken.None))!.Value)
        {
            Assert.Equal(MessageType.CreditUpdate, second.Type);
            Assert.Equal(new byte[] { 9 }, second.Payload.ToArray());
        }

        Assert.Null(await reader.ReadAsync(CancellationToken.None));
    }

    [Fact]
    public void Unknown_message_type_is_framed_and_flagged()
    {
        var bytes = FrameCodec.Encode((MessageType)42, new byte[] { 7 });
        var sequence = new ReadOnlySequence<byte>(bytes);
        Assert.True(FrameCodec.TryReadFrame(ref sequence, out var frame));
        using (frame)
        {
            Assert.Equal(42, frame.TypeByte);
            Assert.False(frame.IsKnownType);
        }
    }

    [Fact]
    public void Garbage_payload_is_a_protocol_error_not_a_crash()
    {
        var random = new Random(1234);
        for (var i = 0; i < 5000; i++)
        {
            var payload = new byte[random.Next(0, 64)];
            random.NextBytes(payload);
            try
            {
                IpcSerializer.ReadExecuteRequest(payload, payload.Length);
            }
            catch (ProtocolException)
            {
            }
        }
    }

    [Fact]
    public void Missing_required_field_names_the_field_and_keeps_the_request_id()
    {
        // A table with only request_id set: tenant_id, connector_name and operation are missing.
        var builder = new Google.FlatBuffers.FlatBufferBuilder(64);
        Worker.Connector.Protocol.Generated.ExecuteRequest.StartExecuteRequest(builder);
        Worker.Connector.Protocol.Generated.ExecuteRequest.AddRequestId(builder, 77);
        var end = builder.EndTable();
        builder.Finish(end);
        var payload = IpcSerializer.Finished(builder).ToArray();
        var ex = Assert.Throws<ProtocolException>(() => IpcSerializer.ReadExecuteRequest(payload, payload.Length));
        Assert.Equal(77UL, ex.RequestId);
        Assert.Contains("tenant_id", ex.Message, StringComparison.Ordinal);
    }
}

public sealed class FrameWriterTests
{
    [Theory]
    [InlineData(100, 0)]
    [InlineData(4 * 1024 * 1024, 0)]
    [InlineData(4 * 1024 * 1024, 4 * 1024 * 1024)]
    [InlineData(200 * 1024, 1024)]
    public async Task Responses_round_trip_whatever_the_size_hint(int payloadSize, int sizeHint)
    {
        var payload = new byte[payloadSize];
        new Random(payloadSize).NextBytes(payload);
        using var stream = new MemoryStream();
        using var writer = new FrameWriter(stream);
        for (var i = 0; i < 2; i++)
        {
            var message = new ExecuteResponseMessage { RequestId = (ulong)i + 1, Payload = payload, DurationUs = 7 };
            await writer.WriteAsync(MessageType.ExecuteResponse, message, IpcSerializer.Write, CancellationToken.None, sizeHint);
        }

        stream.Position = 0;
        var reader = new FrameReader(stream);
        for (var i = 0; i < 2; i++)
        {
            using var frame = (await reader.ReadAsync(CancellationToken.None))!.Value;
            var decoded = IpcSerializer.ReadExecuteResponse(frame.Buffer, frame.Length);
            Assert.Equal((ulong)i + 1, decoded.RequestId);
            Assert.True(decoded.Payload.Span.SequenceEqual(payload));
        }
    }
}
