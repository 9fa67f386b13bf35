namespace Worker.Simulator.Streaming;

/// <summary>How a streamed answer ended.</summary>
internal enum StreamEnd
{
    Completed,

    /// <summary>An injected in-stream fault ended it (drop, error_event).</summary>
    Faulted,

    /// <summary>The client stopped reading.</summary>
    ClientGone,
}
