using System.IO.Pipelines;

namespace Worker.Connector.Protocol;

/// <summary>Reads whole frames from a stream. Not thread-safe: one reader loop per connection.</summary>
public sealed class FrameReader
{
    private readonly PipeReader _reader;

    public FrameReader(Stream stream)
    {
        _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, leaveOpen: true));
    }

    /// <summary>The next frame, or null when the peer closed the connection between frames.</summary>
    /// <exception cref="ProtocolException">A bad header, or the connection closed in the middle of a frame.</exception>
    public async ValueTask<Frame?> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken);
            if (Take(_reader, result, out var ended, out _) is { } frame)
            {
                return frame;
            }

            if (ended)
            {
                return null;
            }
        }
    }

    /// <summary>
    /// One step of a frame read loop over <paramref name="reader"/> (shared with the runtime's connection reader): the
    /// whole frame at the start of <paramref name="result"/>, consumed; or null, with <paramref name="ended"/> when the
    /// peer ended its side between frames, else with the <paramref name="buffered"/> bytes of an incomplete frame
    /// examined (read again for more).
    /// </summary>
    /// <exception cref="ProtocolException">A bad header, or the connection ended in the middle of a frame.</exception>
    internal static Frame? Take(PipeReader reader, ReadResult result, out bool ended, out long buffered)
    {
        var buffer = result.Buffer;
        ended = false;
        buffered = 0;
        try
        {
            if (FrameCodec.TryReadFrame(ref buffer, out var frame))
            {
                reader.AdvanceTo(buffer.Start);
                return frame;
            }
        }
        catch (ProtocolException)
        {
            reader.AdvanceTo(buffer.Start, buffer.End);
            throw;
        }

        buffered = buffer.Length;
        if (result.IsCompleted || result.IsCanceled)
        {
            reader.AdvanceTo(buffer.End);
            ended = true;
            return buffered == 0
                ? null
                : throw new ProtocolException($"Connection closed in the middle of a frame ({buffered} bytes of it received).");
        }

        reader.AdvanceTo(buffer.Start, buffer.End);
        return null;
    }

    public ValueTask CompleteAsync() => _reader.CompleteAsync();
}
