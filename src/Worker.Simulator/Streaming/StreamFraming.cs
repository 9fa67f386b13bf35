namespace Worker.Simulator.Streaming;

/// <summary>How the events of a streamed answer are framed on the wire.</summary>
internal enum StreamFraming
{
    /// <summary>Server-sent events: <c>data: {json}\n\n</c>.</summary>
    ServerSentEvents,

    /// <summary>One JSON array written element by element (Gemini streaming without <c>alt=sse</c>).</summary>
    JsonArray,
}
