using Worker.Connector.Protocol;

namespace Worker.Runtime.Server;

/// <summary>One connector operation the runtime serves (e.g. <c>http</c>/<c>request</c>).</summary>
internal interface IConnectorOperation
{
    string Connector { get; }

    string Operation { get; }

    /// <summary>
    /// Runs the request. Expected failures come back as a failed <see cref="ExecutionResult"/>; cancellation of
    /// <paramref name="cancellationToken"/> (deadline, shutdown) surfaces as <see cref="OperationCanceledException"/>.
    /// </summary>
    Task<ExecutionResult> ExecuteAsync(ExecuteRequestMessage request, CancellationToken cancellationToken);
}
