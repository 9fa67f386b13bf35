using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using Worker.Connector.Protocol;

namespace Worker.Runtime.Server;

/// <summary>
/// Reads a client's frames with the two read-side time limits of a connection: <c>Runtime:IdleTimeout</c> (nothing
/// in flight and no frame started) and <c>Runtime:FrameTimeout</c> (a frame whose first bytes arrived must complete).
/// Either closes the connection through a <see cref="ConnectionTimeoutException"/>. It is the runtime's own reader,
/// not the shared <see cref="FrameReader"/>, because only the runtime must know whether a frame has started.
/// </summary>
internal sealed class ConnectionFrameReader : IDisposable
{
    private readonly PipeReader _reader;
    private readonly TimeSpan _idleTimeout;
    private readonly TimeSpan _frameTimeout;
    private readonly Func<bool> _busy;
    private readonly CancellationTokenSource _timer = new();
    private CancellationTokenSource? _linked;
    private long _frameStarted;
    private int _waiting;

    /// <summary>Reads from <paramref name="stream"/>; <paramref name="busy"/> says whether requests are in flight (then it is not idle).</summary>
    public ConnectionFrameReader(Stream stream, TimeSpan idleTimeout, TimeSpan frameTimeout, Func<bool> busy)
    {
        _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, leaveOpen: true));
        _idleTimeout = idleTimeout;
        _frameTimeout = frameTimeout;
        _busy = busy;
    }

    /// <summary>The next frame, or null when the peer ended its side between frames.</summary>
    /// <exception cref="ProtocolException">A bad header, or the connection ended in the middle of a frame.</exception>
    /// <exception cref="ConnectionTimeoutException">Idle too long, or a frame took too long.</exception>
    public async ValueTask<Frame?> ReadAsync(CancellationToken cancellationToken)
    {
        _linked ??= CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _timer.Token);
        while (true)
        {
            ReadResult result;
            Arm();
            try
            {
                result = await _reader.ReadAsync(_linked.Token);
            }
            catch (OperationCanceledException) when (_timer.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw Expired();
            }
            finally
            {
                Disarm();
            }

            if (FrameReader.Take(_reader, result, out var ended, out var buffered) is { } frame)
            {
                // Bytes left over belong to the next frame; its clock starts when the next read finds it incomplete.
                Volatile.Write(ref _frameStarted, 0);
                return frame;
            }

            if (ended)
            {
                return null;
            }

            if (buffered > 0 && Volatile.Read(ref _frameStarted) == 0)
            {
                Volatile.Write(ref _frameStarted, Stopwatch.GetTimestamp());
            }
        }
    }

    /// <summary>
    /// Called when the connection's last request in flight finished: a read already waiting must now count idle time.
    /// </summary>
    public void RequestsDrained()
    {
        // Paired with Arm: either Arm saw the connection not busy, or this sees the reader waiting (both use full fences).
        if (Interlocked.CompareExchange(ref _waiting, 0, 0) == 1 && Volatile.Read(ref _frameStarted) == 0 && !_busy())
        {
            TryCancelAfter(_idleTimeout);
        }
    }

    public ValueTask CompleteAsync() => _reader.CompleteAsync();

    public void Dispose()
    {
        _linked?.Dispose();
        _timer.Dispose();
    }

    private void Arm()
    {
        Interlocked.Exchange(ref _waiting, 1);
        var started = Volatile.Read(ref _frameStarted);
        if (started != 0)
        {
            var left = _frameTimeout - Stopwatch.GetElapsedTime(started);
            TryCancelAfter(left > TimeSpan.Zero ? left : TimeSpan.FromTicks(1));
        }
        else if (!_busy())
        {
            TryCancelAfter(_idleTimeout);
        }
    }

    private void Disarm()
    {
        Interlocked.Exchange(ref _waiting, 0);
        TryCancelAfter(Timeout.InfiniteTimeSpan);
    }

    private void TryCancelAfter(TimeSpan delay)
    {
        try
        {
            _timer.CancelAfter(delay);
        }
        catch (ObjectDisposedException)
        {
            // The connection is gone; a late RequestsDrained has nothing to arm.
        }
    }

    private ConnectionTimeoutException Expired()
    {
        var started = Volatile.Read(ref _frameStarted);
        return started != 0
            ? new ConnectionTimeoutException(ConnectionTimeoutException.FrameReason, string.Create(CultureInfo.InvariantCulture,
                $"a frame was not complete within Runtime:FrameTimeout ({_frameTimeout.TotalSeconds:0.###} s)"))
            : new ConnectionTimeoutException(ConnectionTimeoutException.IdleReason, string.Create(CultureInfo.InvariantCulture,
                $"idle (nothing in flight, no frame) for Runtime:IdleTimeout ({_idleTimeout.TotalSeconds:0.###} s)"));
    }
}

/// <summary>A connection closed by one of its time limits.</summary>
internal sealed class ConnectionTimeoutException : Exception
{
    public const string IdleReason = "idle";
    public const string FrameReason = "frame_timeout";
    public const string WriteReason = "write_timeout";

    public ConnectionTimeoutException(string reason, string message)
        : base(message)
    {
        Reason = reason;
    }

    public ConnectionTimeoutException()
    {
        Reason = IdleReason;
    }

    public ConnectionTimeoutException(string message)
        : base(message)
    {
        Reason = IdleReason;
    }

    public ConnectionTimeoutException(string message, Exception innerException)
        : base(message, innerException)
    {
        Reason = IdleReason;
    }

    /// <summary>Metric tag: idle, frame_timeout or write_timeout.</summary>
    public string Reason { get; }
}
