using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Worker.Connector.Protocol;

namespace Worker.Connector.Client;

/// <summary>
/// Client of the connector runtime. Thread-safe; keep one per process. Requests are multiplexed over a small pool of
/// connections, each call has a timeout that is both sent (deadline_at_ms) and enforced here, and a dropped
/// connection is re-established on the next call with exponential backoff.
/// </summary>
public sealed partial class RuntimeClient : IAsyncDisposable
{
    private readonly RuntimeClientOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Slot[] _slots;
    private readonly ILocalRuntime? _local;
    private long _lastRequestId;
    private int _disposed;

    /// <summary>
    /// A client of the runtime at <paramref name="options"/>' socket. Given a runtime in this process
    /// (<paramref name="local"/>, the worker's embedded one), it calls that one directly instead; health checks use
    /// the socket either way.
    /// </summary>
    public RuntimeClient(RuntimeClientOptions options, ILogger<RuntimeClient>? logger = null, TimeProvider? timeProvider = null, ILocalRuntime? local = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _local = local;
        _logger = logger ?? NullLogger<RuntimeClient>.Instance;
        _time = timeProvider ?? TimeProvider.System;
        Endpoint = RuntimeEndpoint.Resolve(options);
        _slots = new Slot[Math.Max(1, options.PoolSize)];
        for (var i = 0; i < _slots.Length; i++)
        {
            _slots[i] = new Slot();
        }
    }

    public RuntimeClient(IOptions<RuntimeClientOptions> options, ILogger<RuntimeClient> logger)
        : this(options?.Value ?? throw new ArgumentNullException(nameof(options)), logger)
    {
    }

    /// <summary>Where this client connects.</summary>
    public RuntimeEndpoint Endpoint { get; }

    /// <summary>True when requests go to a runtime in this process without the socket.</summary>
    public bool IsLocal => _local is not null;

    /// <summary>
    /// Sends one ExecuteRequest and returns the successful response. A runtime error class other than Success, a
    /// timeout and a lost connection all become a <see cref="ConnectorException"/>; caller cancellation stays an
    /// <see cref="OperationCanceledException"/>.
    /// </summary>
    public async Task<ExecuteResponseMessage> ExecuteAsync(
        string connectorName, string operation, ReadOnlyMemory<byte> payload, RuntimeCallOptions? call = null, CancellationToken cancellationToken = default)
    {
        (call, var timeout, var requestId) = Begin(connectorName, operation, call);
        using var activity = StartActivity(connectorName, operation, requestId);
        var request = NewRequest(requestId, connectorName, operation, payload, call, timeout, call.Headers);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            var response = _local is { } local
                ? await local.ExecuteAsync(request, deadline.Token)
                : await (await AcquireAsync(deadline.Token)).SendAsync(request, deadline.Token);
            activity?.SetTag("vastar.error_class", response.ErrorClass.ToString());
            if (response.ErrorClass != ErrorClass.Success)
            {
                activity?.SetStatus(ActivityStatusCode.Error, response.ErrorClass.ToString());
                throw new ConnectorException(response.ErrorClass, response.ErrorMessage ?? $"The runtime answered {response.ErrorClass}.") { RequestId = requestId };
            }

            return response;
        }
        catch (OperationCanceledException ex) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            activity?.SetStatus(ActivityStatusCode.Error, "timeout");
            throw new ConnectorException(ErrorClass.Timeout, $"Runtime request {requestId} ({connectorName}.{operation}) timed out after {timeout.TotalMilliseconds:0} ms.", ex) { RequestId = requestId };
        }
        catch (ConnectorException ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.ErrorClass.ToString());
            throw;
        }
    }

    /// <summary>What every call starts with: its arguments checked, its options and timeout, and a new request id.</summary>
    private (RuntimeCallOptions Call, TimeSpan Timeout, ulong RequestId) Begin(string connectorName, string operation, RuntimeCallOptions? call)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectorName);
        ArgumentException.ThrowIfNullOrEmpty(operation);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        call ??= new RuntimeCallOptions();
        return (call, call.Timeout ?? _options.DefaultTimeout, (ulong)Interlocked.Increment(ref _lastRequestId));
    }

    /// <summary>The client span of one call (created only when someone listens).</summary>
    private Activity? StartActivity(string connectorName, string operation, ulong requestId)
    {
        var activity = ConnectorDiagnostics.ActivitySource.StartActivity($"runtime {connectorName}.{operation}", ActivityKind.Client);
        activity?.SetTag("rpc.system", "vastar");
        activity?.SetTag("rpc.method", $"{connectorName}.{operation}");
        if (_local is null)
        {
            activity?.SetTag("server.address", Endpoint.ToString());
        }
        else
        {
            activity?.SetTag("vastar.in_process", true);
        }

        activity?.SetTag("vastar.request_id", requestId);
        return activity;
    }

    /// <summary>The ExecuteRequest of one call: ids and deadline from the call's options or the client's.</summary>
    private ExecuteRequestMessage NewRequest(ulong requestId, string connectorName, string operation, ReadOnlyMemory<byte> payload,
        RuntimeCallOptions call, TimeSpan timeout, IReadOnlyList<KeyValuePair<string, string>> headers) => new()
        {
            RequestId = requestId,
            TenantId = call.TenantId ?? _options.TenantId,
            WorkspaceId = call.WorkspaceId ?? _options.WorkspaceId,
            TraceId = call.TraceId ?? Activity.Current?.Id,
            ConnectorName = connectorName,
            Operation = operation,
            DeadlineAtMs = (ulong)(_time.GetUtcNow() + timeout).ToUnixTimeMilliseconds(),
            Payload = payload,
            Headers = headers,
        };

    /// <summary>
    /// Sends one ExecuteRequest asking for a streamed answer (<see cref="StreamProtocol"/>) and returns once the head
    /// (or, from a runtime that does not stream, the whole answer) has arrived. The call's timeout and
    /// <paramref name="cancellationToken"/> keep governing the stream until it is disposed: either one ending it early
    /// cancels the request at the runtime. Failures are classified as for <see cref="ExecuteAsync"/>.
    /// </summary>
    public async Task<RuntimeStream> ExecuteStreamAsync(
        string connectorName, string operation, ReadOnlyMemory<byte> payload, RuntimeCallOptions? call = null, CancellationToken cancellationToken = default)
    {
        (call, var timeout, var requestId) = Begin(connectorName, operation, call);
        var window = Math.Clamp(call.StreamWindow ?? StreamProtocol.DefaultWindow, StreamProtocol.MinWindow, StreamProtocol.MaxWindow);
        var activity = StartActivity(connectorName, operation, requestId);
        activity?.SetTag("vastar.streamed", true);
        var request = NewRequest(requestId, connectorName, operation, payload, call, timeout, [.. call.Headers, StreamProtocol.Header(window)]);

        var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        RuntimeStream? stream = null;
        try
        {
            var opened = _local is { } local
                ? OpenLocal(local, request, window)
                : await (await AcquireAsync(deadline.Token)).OpenStreamAsync(request, window, deadline.Token);
            stream = new RuntimeStream(opened, deadline, () => cancellationToken.IsCancellationRequested
                ? new OperationCanceledException(cancellationToken)
                : TimedOut(requestId, connectorName, operation, timeout, null), activity);
            await stream.OpenedAsync();
            if (stream.Response is { ErrorClass: not ErrorClass.Success } whole)
            {
                activity?.SetTag("vastar.error_class", whole.ErrorClass.ToString());
                activity?.SetStatus(ActivityStatusCode.Error, whole.ErrorClass.ToString());
                throw new ConnectorException(whole.ErrorClass, whole.ErrorMessage ?? $"The runtime answered {whole.ErrorClass}.") { RequestId = requestId };
            }

            return stream;
        }
        catch (Exception ex)
        {
            var timedOut = ex is OperationCanceledException && !cancellationToken.IsCancellationRequested;
            activity?.SetStatus(ActivityStatusCode.Error, timedOut ? "timeout" : (ex as ConnectorException)?.ErrorClass.ToString());
            if (stream is not null)
            {
                await stream.DisposeAsync();
            }
            else
            {
                activity?.Dispose();
                deadline.Dispose();
            }

            if (timedOut)
            {
                throw TimedOut(requestId, connectorName, operation, timeout, ex);
            }

            throw;
        }
    }

    /// <summary>A stream from the runtime in this process: the same <see cref="StreamCall"/>, fed by calls instead of frames.</summary>
    private static StreamCall OpenLocal(ILocalRuntime local, ExecuteRequestMessage request, int window)
    {
        var stream = local.CreateStream(request);
        var call = new StreamCall(new LocalStreamPeer(stream), request.RequestId, window, static () => { }, inlineReader: true);
        stream.Start(call);
        return call;
    }

    private static ConnectorException TimedOut(ulong requestId, string connectorName, string operation, TimeSpan timeout, Exception? inner) =>
        new(ErrorClass.Timeout, $"Runtime request {requestId} ({connectorName}.{operation}) timed out after {timeout.TotalMilliseconds:0} ms.", inner) { RequestId = requestId };

    /// <summary>Asks the runtime for its health (message types 2/3).</summary>
    public async Task<HealthCheckResponseMessage> HealthCheckAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        var limit = timeout ?? _options.DefaultTimeout;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(limit);
        try
        {
            var connection = await AcquireAsync(deadline.Token);
            return await connection.HealthCheckAsync(deadline.Token);
        }
        catch (OperationCanceledException ex) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new ConnectorException(ErrorClass.Timeout, $"Health check timed out after {limit.TotalMilliseconds:0} ms.", ex);
        }
    }

    /// <summary>Picks the least busy live connection, opening one in an empty or dead slot while all live ones are busy.</summary>
    private async Task<RuntimeConnection> AcquireAsync(CancellationToken cancellationToken)
    {
        Slot? best = null;
        Slot? vacant = null;
        foreach (var slot in _slots)
        {
            if (slot.Connection is { IsAlive: true } live)
            {
                if (best?.Connection is null || live.InFlight < best.Connection.InFlight)
                {
                    best = slot;
                }
            }
            else
            {
                vacant ??= slot;
            }
        }

        if (best?.Connection is not { } connection)
        {
            return await ConnectAsync(vacant!, cancellationToken);
        }

        if (connection.InFlight == 0 || vacant is null)
        {
            return connection;
        }

        try
        {
            return await ConnectAsync(vacant, cancellationToken);
        }
        catch (ConnectorException)
        {
            // Spreading load is optional; a live connection still serves.
            return connection;
        }
    }

    private async Task<RuntimeConnection> ConnectAsync(Slot slot, CancellationToken cancellationToken)
    {
        await slot.Lock.WaitAsync(cancellationToken);
        try
        {
            if (slot.Connection is { IsAlive: true } existing)
            {
                return existing;
            }

            if (slot.Connection is { } dead)
            {
                slot.Connection = null;
                await dead.DisposeAsync();
            }

            var wait = slot.RetryAt - _time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, _time, cancellationToken);
            }

            try
            {
                slot.Connection = await RuntimeConnection.ConnectAsync(Endpoint, _options, _logger, cancellationToken);
                slot.Failures = 0;
                return slot.Connection;
            }
            catch (ConnectorException ex)
            {
                slot.Failures++;
                var delay = Backoff(slot.Failures);
                slot.RetryAt = _time.GetUtcNow() + delay;
                LogConnectFailed(_logger, Endpoint.ToString(), slot.Failures, delay.TotalMilliseconds, ex.Message);
                throw;
            }
        }
        finally
        {
            slot.Lock.Release();
        }
    }

    private TimeSpan Backoff(int failures)
    {
        var factor = Math.Pow(2, Math.Min(failures - 1, 16));
        var delay = TimeSpan.FromTicks((long)Math.Min(_options.ReconnectDelay.Ticks * factor, _options.MaxReconnectDelay.Ticks));
        return delay;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        foreach (var slot in _slots)
        {
            if (slot.Connection is { } connection)
            {
                await connection.DisposeAsync();
            }

            slot.Lock.Dispose();
        }
    }

    private sealed class Slot
    {
        public SemaphoreSlim Lock { get; } = new(1, 1);
        public RuntimeConnection? Connection { get; set; }
        public int Failures { get; set; }
        public DateTimeOffset RetryAt { get; set; }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "Cannot reach the connector runtime at {Endpoint} (failure {Failures}; next attempt in {DelayMs} ms): {Reason}")]
    private static partial void LogConnectFailed(ILogger logger, string endpoint, int failures, double delayMs, string reason);
}
