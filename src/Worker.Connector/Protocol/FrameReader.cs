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
            var buffer = result.Buffer;
            try
            {
                if (FrameCodec.TryReadFrame(ref buffer, out var frame))
                {
                    _reader.AdvanceTo(buffer.Start);
                    return frame;
                }
            }
            catch (ProtocolException)
            {
                _reader.AdvanceTo(buffer.Start, buffer.End);
                throw;
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                var pending = buffer.Length;
                _reader.AdvanceTo(buffer.End);
                return pending == 0
                    ? null
                    : throw new ProtocolException($"Connection closed in the middle of a frame ({pending} bytes of it received).");
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    public ValueTask CompleteAsync() => _reader.CompleteAsync();
}
