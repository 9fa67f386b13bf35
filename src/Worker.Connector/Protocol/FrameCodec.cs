using System.Buffers;
using System.Buffers.Binary;

namespace Worker.Connector.Protocol;

/// <summary>
/// The frame layout: <c>length:uint32 BE | type:u8 | payload</c>, where length counts the type byte and the payload.
/// </summary>
public static class FrameCodec
{
    /// <summary>Length prefix plus type byte.</summary>
    public const int HeaderSize = 5;

    /// <summary>The largest payload either side accepts (10 MiB), as the original SDKs enforce.</summary>
    public const int MaxPayloadLength = 10 * 1024 * 1024;

    /// <summary>Parses a header; a length of zero (no type byte) or a payload over the limit is a protocol error.</summary>
    public static (byte Type, int PayloadLength) ReadHeader(ReadOnlySpan<byte> header)
    {
        if (header.Length < HeaderSize)
        {
            throw new ProtocolException($"Frame header needs {HeaderSize} bytes, got {header.Length}.");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (length == 0)
        {
            throw new ProtocolException("Frame length 0 is invalid: the length counts the type byte.");
        }

        if (length - 1 > MaxPayloadLength)
        {
            throw new ProtocolException($"Frame payload of {length - 1} bytes exceeds the {MaxPayloadLength}-byte limit.");
        }

        return (header[4], (int)(length - 1));
    }

    public static void WriteHeader(Span<byte> destination, MessageType type, int payloadLength)
    {
        if ((uint)payloadLength > MaxPayloadLength)
        {
            throw new ProtocolException($"Frame payload of {payloadLength} bytes exceeds the {MaxPayloadLength}-byte limit.");
        }

        BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)payloadLength + 1);
        destination[4] = (byte)type;
    }

    /// <summary>
    /// Takes one whole frame off the front of <paramref name="buffer"/>, copying its payload into a pooled array.
    /// Returns false when the frame is not complete yet. Throws <see cref="ProtocolException"/> on a bad header,
    /// before any payload is buffered, so a hostile length never causes a large allocation.
    /// </summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out Frame frame)
    {
        frame = default;
        if (buffer.Length < HeaderSize)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(header);
        var (type, payloadLength) = ReadHeader(header);
        if (buffer.Length - HeaderSize < payloadLength)
        {
            return false;
        }

        var array = ArrayPool<byte>.Shared.Rent(Math.Max(payloadLength, 1));
        buffer.Slice(HeaderSize, payloadLength).CopyTo(array);
        frame = new Frame(type, array, payloadLength);
        buffer = buffer.Slice(HeaderSize + payloadLength);
        return true;
    }

    /// <summary>Encodes a whole frame into a new array (tests and tools; the hot paths use <see cref="FrameWriter"/>).</summary>
    public static byte[] Encode(MessageType type, ReadOnlySpan<byte> payload)
    {
        var bytes = new byte[HeaderSize + payload.Length];
        WriteHeader(bytes, type, payload.Length);
        payload.CopyTo(bytes.AsSpan(HeaderSize));
        return bytes;
    }
}

/// <summary>One received frame. Its payload lives in a pooled array: dispose it exactly once, when decoded.</summary>
public readonly struct Frame : IDisposable
{
    private readonly byte[]? _buffer;

    public Frame(byte type, byte[] buffer, int length)
    {
        TypeByte = type;
        _buffer = buffer;
        Length = length;
    }

    /// <summary>The raw type byte (may be a type this side does not know).</summary>
    public byte TypeByte { get; }

    public MessageType Type => (MessageType)TypeByte;

    public bool IsKnownType => TypeByte <= (byte)MessageType.StreamEnd;

    public int Length { get; }

    /// <summary>The pooled array; only the first <see cref="Length"/> bytes are the payload.</summary>
    public byte[] Buffer => _buffer ?? [];

    public ReadOnlySpan<byte> Payload => Buffer.AsSpan(0, Length);

    public void Dispose()
    {
        if (_buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }
    }
}
