using Worker.Connector.Protocol;

namespace Worker.Connector.Client;

/// <summary>
/// A connector runtime in the caller's own process (the worker's embedded runtime). A <see cref="RuntimeClient"/>
/// given one hands it requests directly instead of framing them over the socket: the same operations, deadlines,
/// credits (<c>Runtime:MaxInFlight</c>), stream window, cancellation and drain, without the encoding, the socket and
/// the two read loops. The socket stays open for every other client; health checks still use it.
/// </summary>
public interface ILocalRuntime
{
    /// <summary>
    /// Runs <paramref name="request"/> and returns its whole answer (the runtime's error class included, as over the
    /// socket). Cancelling <paramref name="cancellationToken"/> aborts the upstream call and throws
    /// <see cref="OperationCanceledException"/>.
    /// </summary>
    Task<ExecuteResponseMessage> ExecuteAsync(ExecuteRequestMessage request, CancellationToken cancellationToken);

    /// <summary>
    /// Prepares <paramref name="request"/>, which asks for a stream (<see cref="StreamProtocol.Header"/>), without
    /// running it: <see cref="ILocalRuntimeStream.Start"/> does, once the caller can take its messages.
    /// </summary>
    ILocalRuntimeStream CreateStream(ExecuteRequestMessage request);
}

/// <summary>The caller's handle on one streamed request to an <see cref="ILocalRuntime"/>: what a client sends back over the socket.</summary>
public interface ILocalRuntimeStream
{
    /// <summary>Runs the request. Its start, head, chunks and end reach <paramref name="receiver"/> in that order, on any thread.</summary>
    void Start(IRuntimeStreamReceiver receiver);

    /// <summary>The caller consumed <paramref name="bytes"/> of the window (a StreamWindow frame over the socket).</summary>
    void Grant(uint bytes);

    /// <summary>The caller gave up (a CancelRequest frame): the upstream call is aborted; the end still comes.</summary>
    void Cancel();
}

/// <summary>Where a streamed answer arrives: the messages of the socket's stream frames, delivered as calls.</summary>
public interface IRuntimeStreamReceiver
{
    void OnStart(StreamStartMessage start);

    void OnHead(StreamHeadMessage head);

    /// <summary>One chunk of the body, never more than the window left; <paramref name="data"/> is valid only during the call.</summary>
    void OnChunk(ReadOnlySpan<byte> data);

    void OnEnd(StreamEndMessage end);
}
