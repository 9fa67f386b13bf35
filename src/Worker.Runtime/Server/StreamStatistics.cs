namespace Worker.Runtime.Server;

/// <summary>
/// What the runtime's streams have held and done, for tests and diagnostics: the flow-control promise ("a stream
/// never buffers more than its window") is checked against <see cref="PeakBufferedBytes"/>.
/// </summary>
internal sealed class StreamStatistics
{
    private long _started;
    private long _cancelled;
    private long _peakBuffered;
    private long _chunks;
    private long _windowWaits;

    /// <summary>Requests answered as streams.</summary>
    public long Started => Interlocked.Read(ref _started);

    /// <summary>Requests (streamed or not) stopped by a client's CancelRequest.</summary>
    public long Cancelled => Interlocked.Read(ref _cancelled);

    /// <summary>Most body bytes one stream ever held at once (read from the upstream, not yet written to the client).</summary>
    public long PeakBufferedBytes => Interlocked.Read(ref _peakBuffered);

    public long Chunks => Interlocked.Read(ref _chunks);

    /// <summary>Times a stream stopped reading its upstream because its window was used up.</summary>
    public long WindowWaits => Interlocked.Read(ref _windowWaits);

    public void StreamStarted() => Interlocked.Increment(ref _started);

    public void RequestCancelled() => Interlocked.Increment(ref _cancelled);

    public void WindowWait() => Interlocked.Increment(ref _windowWaits);

    public void Chunk(long buffered)
    {
        Interlocked.Increment(ref _chunks);
        long peak;
        while (buffered > (peak = Interlocked.Read(ref _peakBuffered)) && Interlocked.CompareExchange(ref _peakBuffered, buffered, peak) != peak)
        {
        }
    }
}
