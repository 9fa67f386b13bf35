using Google.FlatBuffers;
using Fbs = Worker.Connector.Protocol.Generated;

namespace Worker.Connector.Protocol;

/// <summary>The streamed-response messages (types 5-10), with the same hostile-payload rules as the rest.</summary>
public static partial class IpcSerializer
{
    public static void Write(FlatBufferBuilder builder, StreamStartMessage message)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(message);
        builder.Clear();
        Fbs.StreamStart.StartStreamStart(builder);
        Fbs.StreamStart.AddRequestId(builder, message.RequestId);
        Fbs.StreamStart.AddWindow(builder, message.Window);
        builder.Finish(Fbs.StreamStart.EndStreamStart(builder).Value);
    }

    public static void Write(FlatBufferBuilder builder, StreamHeadMessage message)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(message);
        builder.Clear();
        var headers = default(VectorOffset);
        if (message.Headers.Count > 0)
        {
            var offsets = new Offset<Fbs.KeyValue>[message.Headers.Count];
            for (var i = 0; i < offsets.Length; i++)
            {
                var (key, value) = message.Headers[i];
                offsets[i] = Fbs.KeyValue.CreateKeyValue(builder, builder.CreateString(key), builder.CreateString(value));
            }

            headers = Fbs.StreamHead.CreateHeadersVector(builder, offsets);
        }

        Fbs.StreamHead.StartStreamHead(builder);
        Fbs.StreamHead.AddRequestId(builder, message.RequestId);
        Fbs.StreamHead.AddStatusCode(builder, message.StatusCode);
        if (message.Headers.Count > 0)
        {
            Fbs.StreamHead.AddHeaders(builder, headers);
        }

        builder.Finish(Fbs.StreamHead.EndStreamHead(builder).Value);
    }

    /// <summary>Writes a StreamChunk (a struct state, so a chunk allocates no message object).</summary>
    public static void WriteStreamChunk(FlatBufferBuilder builder, (ulong RequestId, ReadOnlyMemory<byte> Data) chunk)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Clear();
        var data = CreateBytes(builder, chunk.Data);
        Fbs.StreamChunk.StartStreamChunk(builder);
        Fbs.StreamChunk.AddRequestId(builder, chunk.RequestId);
        Fbs.StreamChunk.AddData(builder, data);
        builder.Finish(Fbs.StreamChunk.EndStreamChunk(builder).Value);
    }

    public static void Write(FlatBufferBuilder builder, StreamEndMessage message)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(message);
        builder.Clear();
        var error = message.ErrorMessage is null ? default : builder.CreateString(message.ErrorMessage);
        Fbs.StreamEnd.StartStreamEnd(builder);
        Fbs.StreamEnd.AddRequestId(builder, message.RequestId);
        Fbs.StreamEnd.AddDurationUs(builder, message.DurationUs);
        if (message.ErrorMessage is not null)
        {
            Fbs.StreamEnd.AddErrorMessage(builder, error);
        }

        Fbs.StreamEnd.AddErrorClass(builder, (Fbs.ErrorClass)message.ErrorClass);
        builder.Finish(Fbs.StreamEnd.EndStreamEnd(builder).Value);
    }

    public static void Write(FlatBufferBuilder builder, StreamWindowMessage message)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(message);
        builder.Clear();
        Fbs.StreamWindow.StartStreamWindow(builder);
        Fbs.StreamWindow.AddRequestId(builder, message.RequestId);
        Fbs.StreamWindow.AddBytes(builder, message.Bytes);
        builder.Finish(Fbs.StreamWindow.EndStreamWindow(builder).Value);
    }

    public static void Write(FlatBufferBuilder builder, CancelRequestMessage message)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(message);
        builder.Clear();
        Fbs.CancelRequest.StartCancelRequest(builder);
        Fbs.CancelRequest.AddRequestId(builder, message.RequestId);
        builder.Finish(Fbs.CancelRequest.EndCancelRequest(builder).Value);
    }

    public static StreamStartMessage ReadStreamStart(byte[] buffer, int length) =>
        Decode("StreamStart", buffer, length, static bb =>
        {
            var table = Fbs.StreamStart.GetRootAsStreamStart(bb);
            return new StreamStartMessage(table.RequestId, table.Window);
        });

    public static StreamHeadMessage ReadStreamHead(byte[] buffer, int length) =>
        Decode("StreamHead", buffer, length, bb =>
        {
            var table = Fbs.StreamHead.GetRootAsStreamHead(bb);
            if (table.HeadersLength < 0 || table.HeadersLength > length / sizeof(int))
            {
                throw new ProtocolException($"headers claims {table.HeadersLength} entries in a {length}-byte payload.") { RequestId = table.RequestId };
            }

            var headers = new KeyValuePair<string, string>[table.HeadersLength];
            for (var i = 0; i < headers.Length; i++)
            {
                var kv = table.Headers(i) ?? throw Missing("headers[" + i + "]", table.RequestId);
                headers[i] = new(kv.Key ?? throw Missing("headers[" + i + "].key", table.RequestId),
                    kv.Value ?? throw Missing("headers[" + i + "].value", table.RequestId));
            }

            return new StreamHeadMessage { RequestId = table.RequestId, StatusCode = table.StatusCode, Headers = headers };
        });

    /// <summary>
    /// Reads a StreamChunk without copying: <paramref name="data"/> points into <paramref name="buffer"/> (valid while
    /// the frame is).
    /// </summary>
    public static ulong ReadStreamChunk(byte[] buffer, int length, out ArraySegment<byte> data)
    {
        try
        {
            var table = Fbs.StreamChunk.GetRootAsStreamChunk(Wrap(buffer, length));
            var requestId = table.RequestId;
            data = table.GetDataBytes() ?? ArraySegment<byte>.Empty;
            return requestId;
        }
        catch (Exception ex) when (IsDecodeFailure(ex))
        {
            throw Invalid("StreamChunk", ex, null);
        }
    }

    public static StreamEndMessage ReadStreamEnd(byte[] buffer, int length) =>
        Decode("StreamEnd", buffer, length, static bb =>
        {
            var table = Fbs.StreamEnd.GetRootAsStreamEnd(bb);
            return new StreamEndMessage
            {
                RequestId = table.RequestId,
                ErrorClass = (ErrorClass)table.ErrorClass,
                ErrorMessage = table.ErrorMessage,
                DurationUs = table.DurationUs,
            };
        });

    public static StreamWindowMessage ReadStreamWindow(byte[] buffer, int length) =>
        Decode("StreamWindow", buffer, length, static bb =>
        {
            var table = Fbs.StreamWindow.GetRootAsStreamWindow(bb);
            return new StreamWindowMessage(table.RequestId, table.Bytes);
        });

    public static CancelRequestMessage ReadCancelRequest(byte[] buffer, int length) =>
        Decode("CancelRequest", buffer, length, static bb => new CancelRequestMessage(Fbs.CancelRequest.GetRootAsCancelRequest(bb).RequestId));

    private static T Decode<T>(string table, byte[] buffer, int length, Func<ByteBuffer, T> read)
    {
        try
        {
            return read(Wrap(buffer, length));
        }
        catch (Exception ex) when (IsDecodeFailure(ex))
        {
            throw Invalid(table, ex, null);
        }
    }
}
