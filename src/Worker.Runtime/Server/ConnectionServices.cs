using Microsoft.Extensions.Logging;
using Worker.Runtime.Diagnostics;

namespace Worker.Runtime.Server;

/// <summary>What every connection of one server shares.</summary>
internal sealed record ConnectionServices(
    RequestExecutor Executor,
    CreditGate Credits,
    ServerLifetime Lifetime,
    RuntimeMetrics Metrics,
    ILogger Logger,
    TimeProvider Time,
    bool SendCreditUpdates,
    ConnectionLimits Limits)
{
    /// <summary>What the server's streams hold and do (tests check the flow-control bound with it).</summary>
    public StreamStatistics Streams { get; init; } = new();
}
