using Worker.Connector.Protocol;

namespace Worker.Runtime.Server;

/// <summary>An operation that can answer as a stream (head, chunks) when the client asks for one.</summary>
internal interface IStreamingOperation : IConnectorOperation
{
    /// <summary>
    /// Runs the request, writing its head and body to <paramref name="stream"/> as the upstream delivers them. The
    /// returned result ends the stream (its payload is ignored); a failure before the head is sent ends it with no
    /// head. Cancellation (deadline, shutdown, the client's CancelRequest) surfaces as <see cref="OperationCanceledException"/>.
    /// </summary>
    Task<ExecutionResult> StreamAsync(ExecuteRequestMessage request, IResponseStream stream, CancellationToken cancellationToken);
}

/// <summary>Where a streaming operation writes its answer; the window keeps what it holds bounded.</summary>
internal interface IResponseStream
{
    /// <summary>The largest chunk worth reading at once (the read buffer to use).</summary>
    int MaxChunk { get; }

    ValueTask WriteHeadAsync(int statusCode, IReadOnlyList<KeyValuePair<string, string>> headers, CancellationToken cancellationToken);

    /// <summary>Waits until the client has granted window; returns how many bytes may be sent now (at least 1).</summary>
    ValueTask<int> WaitForWindowAsync(CancellationToken cancellationToken);

    /// <summary>Sends <paramref name="data"/> (no more than the last <see cref="WaitForWindowAsync"/> allowed).</summary>
    ValueTask WriteChunkAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);
}
