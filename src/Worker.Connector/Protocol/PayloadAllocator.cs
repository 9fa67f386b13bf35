using Google.FlatBuffers;

namespace Worker.Connector.Protocol;

/// <summary>
/// A read-only FlatBuffers allocator over the first <c>length</c> bytes of a (pooled, larger) array, so the
/// library's bounds checks stop at the payload's end instead of the array's.
/// </summary>
internal sealed class PayloadAllocator : ByteBufferAllocator
{
    public PayloadAllocator(byte[] array, int length)
    {
        Buffer = array;
        Length = length;
    }

    public override void GrowFront(int newSize) =>
        throw new NotSupportedException("A received payload is read-only.");
}
