using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Worker.Connector;
using Worker.Connector.Protocol;
using Worker.Runtime.Diagnostics;

namespace Worker.Runtime.Server;

/// <summary>
/// Runs one ExecuteRequest: finds its operation, enforces its deadline, puts it in a logging scope and a server span
/// (child of the caller's trace), records metrics, and turns every way it can end into an <see cref="ExecutionResult"/>.
/// </summary>
internal sealed class RequestExecutor
{
    private const string UnknownName = "unknown";

    // Timers run on a coarse clock (a few ms on Linux) and can fire that much early; a Timeout must not beat the deadline.
    private static readonly TimeSpan TimerSlack = TimeSpan.FromMilliseconds(5);

    private readonly ConnectorCatalog _catalog;
    private readonly ServerLifetime _lifetime;
    private readonly RuntimeMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly TimeSpan _upstreamTimeout;

    public RequestExecutor(ConnectorCatalog catalog, ServerLifetime lifetime, RuntimeMetrics metrics, ILogger logger, TimeProvider time, TimeSpan upstreamTimeout)
    {
        _catalog = catalog;
        _lifetime = lifetime;
        _metrics = metrics;
        _logger = logger;
        _time = time;
        _upstreamTimeout = upstreamTimeout;
    }

    /// <summary>Whether <paramref name="request"/>'s operation can answer as a stream.</summary>
    public bool CanStream(ExecuteRequestMessage request) =>
        _catalog.TryResolve(request.ConnectorName, request.Operation, out var operation, out _) && operation is IStreamingOperation;

    /// <summary>
    /// Never throws: a crash in an operation is logged and answered Permanent. With <paramref name="stream"/> (and an
    /// operation that streams) the answer is written to it and the result only ends it. <paramref name="cancelled"/>
    /// is the client's CancelRequest.
    /// </summary>
    public async Task<ExecutionResult> ExecuteAsync(
        ExecuteRequestMessage request, CancellationToken connectionClosed, CancellationToken cancelled = default, IResponseStream? stream = null)
    {
        var started = Stopwatch.GetTimestamp();
        using var scope = _logger.BeginScope(new RequestLogScope(request.RequestId, request.TenantId, request.WorkspaceId, request.TraceId));

        // Names from the wire are only used for spans and metric tags once known: a client must not mint cardinality.
        if (!_catalog.TryResolve(request.ConnectorName, request.Operation, out var operation, out var unknown))
        {
            _metrics.RequestRejected(UnknownName, UnknownName, ErrorClass.InvalidRequest);
            RuntimeLog.RequestAnswered(_logger, request.RequestId, LogText.Clip(request.ConnectorName), LogText.Clip(request.Operation), ErrorClass.InvalidRequest, 0);
            return ExecutionResult.Failure(ErrorClass.InvalidRequest, unknown);
        }

        using var activity = StartActivity(request, operation!);
        _metrics.RequestStarted();
        ExecutionResult result;
        try
        {
            result = await RunAsync(request, operation!, connectionClosed, cancelled, stream);
        }
        catch (Exception ex)
        {
            RuntimeLog.RequestCrashed(_logger, request.RequestId, ex);
            result = ExecutionResult.Failure(ErrorClass.Permanent, $"Internal runtime error ({ex.GetType().Name}).");
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        _metrics.RequestFinished(operation!.Connector, operation.Operation, result.ErrorClass, elapsed);
        RuntimeLog.RequestAnswered(_logger, request.RequestId, operation.Connector, operation.Operation, result.ErrorClass, elapsed.TotalMilliseconds);
        if (activity is not null)
        {
            activity.SetTag("vastar.error_class", result.ErrorClass.ToString());
            if (result.ErrorClass != ErrorClass.Success)
            {
                activity.SetStatus(ActivityStatusCode.Error, result.ErrorMessage);
            }
        }

        return result;
    }

    /// <summary>
    /// How long <paramref name="request"/> may still take: until its deadline, but never longer than
    /// <c>Runtime:UpstreamTimeout</c>, so no client deadline (ten years away, say) can hold a credit longer.
    /// Zero when the deadline has passed.
    /// </summary>
    public TimeSpan TimeLeft(ExecuteRequestMessage request)
    {
        if (request.DeadlineAtMs == 0)
        {
            return _upstreamTimeout;
        }

        var remainingMs = RemainingMs(request);
        return remainingMs <= 0 ? TimeSpan.Zero
            : remainingMs >= _upstreamTimeout.TotalMilliseconds ? _upstreamTimeout
            : TimeSpan.FromMilliseconds(remainingMs);
    }

    private long RemainingMs(ExecuteRequestMessage request) =>
        request.DeadlineAtMs > long.MaxValue ? long.MaxValue : (long)request.DeadlineAtMs - _time.GetUtcNow().ToUnixTimeMilliseconds();

    private async Task<ExecutionResult> RunAsync(
        ExecuteRequestMessage request, IConnectorOperation operation, CancellationToken connectionClosed, CancellationToken cancelled, IResponseStream? stream)
    {
        var limit = _upstreamTimeout;
        var byDeadline = false;
        if (request.DeadlineAtMs != 0)
        {
            var remainingMs = RemainingMs(request);
            if (remainingMs <= 0)
            {
                return ExecutionResult.Failure(ErrorClass.Timeout, string.Create(CultureInfo.InvariantCulture,
                    $"Deadline exceeded: deadline_at_ms {request.DeadlineAtMs} was {-remainingMs} ms in the past when the request arrived."));
            }

            if (remainingMs < _upstreamTimeout.TotalMilliseconds)
            {
                limit = TimeSpan.FromMilliseconds(remainingMs) + TimerSlack;
                byDeadline = true;
            }
        }

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(connectionClosed, _lifetime.Aborting, cancelled);
        cancel.CancelAfter(limit);
        try
        {
            return stream is not null && operation is IStreamingOperation streaming
                ? await streaming.StreamAsync(request, stream, cancel.Token)
                : await operation.ExecuteAsync(request, cancel.Token);
        }
        catch (Exception) when (cancel.IsCancellationRequested || connectionClosed.IsCancellationRequested || cancelled.IsCancellationRequested)
        {
            // The sources are checked too: a linked source learns of a cancel only when its callback has run, and the
            // connection cancels asynchronously, so a stream's write can see the connection closing first.
            // Whatever a cancelled call throws (OperationCanceledException, or an HttpRequestException/IOException
            // from a socket torn down mid-read), the cause is the cancellation: report that.
            if (_lifetime.Aborting.IsCancellationRequested)
            {
                return ExecutionResult.Failure(ErrorClass.Transient, ServerLifetime.ShuttingDownMessage);
            }

            if (connectionClosed.IsCancellationRequested)
            {
                return ExecutionResult.Failure(ErrorClass.Transient, "connection closed before the answer was ready");
            }

            if (cancelled.IsCancellationRequested)
            {
                return ExecutionResult.Failure(ErrorClass.Transient, "Cancelled by the client (CancelRequest); the upstream call was aborted.");
            }

            return ExecutionResult.Failure(ErrorClass.Timeout, byDeadline
                ? string.Create(CultureInfo.InvariantCulture, $"Deadline exceeded: no answer by deadline_at_ms {request.DeadlineAtMs}; the upstream call was cancelled.")
                : string.Create(CultureInfo.InvariantCulture,
                    $"No answer within Runtime:UpstreamTimeout ({_upstreamTimeout.TotalSeconds:0.###} s, also the cap on any deadline); the upstream call was cancelled."));
        }
    }

    private static Activity? StartActivity(ExecuteRequestMessage request, IConnectorOperation operation)
    {
        var source = RuntimeDiagnostics.ActivitySource;
        if (!source.HasListeners())
        {
            return null;
        }

        TraceParent.TryParse(request.TraceId, out var parent);
        var activity = source.StartActivity($"runtime {operation.Connector}.{operation.Operation}", ActivityKind.Server, parent);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("rpc.system", "vastar");
            activity.SetTag("rpc.method", $"{operation.Connector}.{operation.Operation}");
            activity.SetTag("vastar.request_id", request.RequestId);
            activity.SetTag("vastar.tenant_id", request.TenantId);
            activity.SetTag("vastar.workspace_id", request.WorkspaceId);
        }

        return activity;
    }
}
