using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Worker.Connector.Protocol;

namespace Worker.Connector.Client;

/// <summary>
/// One socket to the runtime, multiplexed: callers write requests (serialized by the frame writer) and one reader
/// loop hands each response to the caller waiting on its request id. Health answers carry no id, so they are
/// matched in order. When the socket breaks every caller in flight fails with a Transient error naming the cause.
/// </summary>
internal sealed partial class RuntimeConnection : IStreamPeer, IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly FrameWriter _writer;
    private readonly RuntimeEndpoint _endpoint;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim? _inFlightGate;
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<ExecuteResponseMessage>> _pending = new();
    private readonly ConcurrentQueue<TaskCompletionSource<HealthCheckResponseMessage>> _healthChecks = new();

    // Streamed requests, until the runtime's last frame for them (or the connection's end): a cancelled stream stays
    // here until then, so a StreamStart that arrives after the caller gave up can still be answered with a cancel.
    private readonly ConcurrentDictionary<ulong, StreamCall> _streams = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly Task _readLoop;
    private volatile ConnectorException? _failure;

    private RuntimeConnection(Socket socket, RuntimeEndpoint endpoint, int maxInFlight, ILogger logger)
    {
        _socket = socket;
        _endpoint = endpoint;
        _logger = logger;
        _stream = new NetworkStream(socket, ownsSocket: false);
        _writer = new FrameWriter(_stream);
        _inFlightGate = maxInFlight > 0 ? new SemaphoreSlim(maxInFlight, maxInFlight) : null;
        _readLoop = Task.Run(ReadLoopAsync);
    }

    public bool IsAlive => _failure is null;

    public int InFlight => _pending.Count + _streams.Count;

    /// <summary>Last credit update the runtime sent, if any.</summary>
    public CreditUpdateMessage? LastCreditUpdate { get; private set; }

    public static async Task<RuntimeConnection> ConnectAsync(RuntimeEndpoint endpoint, RuntimeClientOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        var socket = endpoint.CreateSocket();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.ConnectTimeout);
            if (endpoint.SocketPath is { } path)
            {
                RuntimePeerCheck.CheckSocketFile(path, options);
            }

            await socket.ConnectAsync(endpoint.ToEndPoint(), timeout.Token);
            if (endpoint.SocketPath is { } connected)
            {
                RuntimePeerCheck.CheckPeer(socket, connected, options);
            }

            LogConnected(logger, endpoint.ToString());
            return new RuntimeConnection(socket, endpoint, options.MaxInFlightPerConnection, logger);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new ConnectorException(ErrorClass.Transient, NotListening(endpoint, ex.SocketErrorCode.ToString()), ex) { RuntimeUnavailable = true };
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new ConnectorException(ErrorClass.Transient, NotListening(endpoint, $"no answer within {options.ConnectTimeout.TotalSeconds:0.###} s"), ex) { RuntimeUnavailable = true };
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    internal static string NotListening(RuntimeEndpoint endpoint, string cause) =>
        $"The connector runtime is not listening at {endpoint} ({cause}). Start it (dotnet run --project src/Worker.Runtime), "
        + $"or point {RuntimeEndpoint.SocketPathVariable} (or Runtime:SocketPath) at the socket it listens on.";

    public async Task<ExecuteResponseMessage> SendAsync(ExecuteRequestMessage request, CancellationToken cancellationToken)
    {
        if (_inFlightGate is not null)
        {
            await _inFlightGate.WaitAsync(cancellationToken);
        }

        var answer = new TaskCompletionSource<ExecuteResponseMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_pending.TryAdd(request.RequestId, answer))
        {
            _inFlightGate?.Release();
            throw new InvalidOperationException($"Request id {request.RequestId} is already in flight on this connection.");
        }

        try
        {
            // Checked after registering: a failure sweep either saw our entry or set _failure before we read it.
            ThrowIfFailed();
            try
            {
                await _writer.WriteAsync(MessageType.ExecuteRequest, request, IpcSerializer.Write, cancellationToken, request.Payload.Length);
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
                Fail(ex);
                ThrowIfFailed();
                throw;
            }

            using var registration = cancellationToken.Register(
                static state => ((TaskCompletionSource<ExecuteResponseMessage>)state!).TrySetCanceled(), answer);
            return await answer.Task;
        }
        finally
        {
            // A late answer for this id finds nothing and is dropped by the reader.
            _pending.TryRemove(request.RequestId, out _);
            _inFlightGate?.Release();
        }
    }

    /// <summary>
    /// Sends <paramref name="request"/> (which asks for a stream) and returns its stream at once; the head, chunks
    /// and end arrive through it. It holds a slot of the in-flight gate until it finishes.
    /// </summary>
    public async Task<StreamCall> OpenStreamAsync(ExecuteRequestMessage request, int window, CancellationToken cancellationToken)
    {
        if (_inFlightGate is not null)
        {
            await _inFlightGate.WaitAsync(cancellationToken);
        }

        var gate = _inFlightGate;
        var call = new StreamCall(this, request.RequestId, window, () => gate?.Release());
        if (_pending.ContainsKey(request.RequestId) || !_streams.TryAdd(request.RequestId, call))
        {
            _inFlightGate?.Release();
            throw new InvalidOperationException($"Request id {request.RequestId} is already in flight on this connection.");
        }

        try
        {
            // Checked after registering: a failure sweep either saw our entry or set _failure before we read it.
            ThrowIfFailed();
            await _writer.WriteAsync(MessageType.ExecuteRequest, request, IpcSerializer.Write, cancellationToken, request.Payload.Length);
            return call;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            Fail(ex);
            Forget(call);
            ThrowIfFailed();
            throw;
        }
        catch
        {
            Forget(call);
            throw;
        }
    }

    /// <summary>Asks the runtime to stop a request (only sent for requests it has accepted as streams: the original knows no such message).</summary>
    public void SendCancel(ulong requestId) =>
        _ = SendControlAsync(MessageType.CancelRequest, new CancelRequestMessage(requestId), IpcSerializer.Write);

    public ValueTask SendWindowAsync(ulong requestId, uint bytes) =>
        SendControlAsync(MessageType.StreamWindow, new StreamWindowMessage(requestId, bytes), IpcSerializer.Write);

    private async ValueTask SendControlAsync<T>(MessageType type, T message, Action<Google.FlatBuffers.FlatBufferBuilder, T> build)
    {
        if (_failure is not null)
        {
            return;
        }

        try
        {
            await _writer.WriteAsync(type, message, build, CancellationToken.None);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            // The connection is gone; its streams fail through the sweep.
            Fail(ex);
        }
    }

    private void Forget(StreamCall call)
    {
        _streams.TryRemove(new KeyValuePair<ulong, StreamCall>(call.RequestId, call));
        call.Release();
    }

    public async Task<HealthCheckResponseMessage> HealthCheckAsync(CancellationToken cancellationToken)
    {
        var answer = new TaskCompletionSource<HealthCheckResponseMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        _healthChecks.Enqueue(answer);
        ThrowIfFailed();
        try
        {
            await _writer.WriteAsync(MessageType.HealthCheck, 0, static (builder, _) => IpcSerializer.WriteHealthCheck(builder), cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            Fail(ex);
            ThrowIfFailed();
            throw;
        }

        // The answer stays queued even if this caller gives up, so later answers still line up with their checks.
        return await answer.Task.WaitAsync(cancellationToken);
    }

    private async Task ReadLoopAsync()
    {
        var reader = new FrameReader(_stream);
        Exception? cause = null;
        try
        {
            while (await reader.ReadAsync(_closing.Token) is { } frame)
            {
                using (frame)
                {
                    Dispatch(frame);
                }
            }
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is IOException or SocketException or ProtocolException or ObjectDisposedException)
        {
            cause = ex;
        }
        finally
        {
            await reader.CompleteAsync();
        }

        Fail(cause ?? new IOException(_closing.IsCancellationRequested ? "the client closed the connection" : "the runtime closed the connection"));
    }

    private void Dispatch(Frame frame)
    {
        switch (frame.Type)
        {
            case MessageType.ExecuteResponse:
                var response = IpcSerializer.ReadExecuteResponse(frame.Buffer, frame.Length);
                if (_pending.TryRemove(response.RequestId, out var waiter))
                {
                    waiter.TrySetResult(response);
                }
                else if (_streams.TryRemove(response.RequestId, out var whole))
                {
                    // A runtime that does not stream (the original), or one that answered before streaming began.
                    whole.OnWhole(response);
                }
                else
                {
                    LogLateResponse(_logger, response.RequestId);
                }

                break;
            case MessageType.StreamStart:
                var start = IpcSerializer.ReadStreamStart(frame.Buffer, frame.Length);
                StreamOf(start.RequestId)?.OnStart(start);
                break;
            case MessageType.StreamHead:
                var head = IpcSerializer.ReadStreamHead(frame.Buffer, frame.Length);
                StreamOf(head.RequestId)?.OnHead(head);
                break;
            case MessageType.StreamChunk:
                var chunkId = IpcSerializer.ReadStreamChunk(frame.Buffer, frame.Length, out var data);
                StreamOf(chunkId)?.OnChunk(data);
                break;
            case MessageType.StreamEnd:
                var end = IpcSerializer.ReadStreamEnd(frame.Buffer, frame.Length);
                if (_streams.TryRemove(end.RequestId, out var ended))
                {
                    ended.OnEnd(end);
                }
                else
                {
                    LogLateResponse(_logger, end.RequestId);
                }

                break;
            case MessageType.HealthResponse:
                var health = IpcSerializer.ReadHealthCheckResponse(frame.Buffer, frame.Length);
                if (_healthChecks.TryDequeue(out var check))
                {
                    check.TrySetResult(health);
                }

                break;
            case MessageType.CreditUpdate:
                LastCreditUpdate = IpcSerializer.ReadCreditUpdate(frame.Buffer, frame.Length);
                break;
            default:
                throw new ProtocolException($"Unexpected message type {frame.TypeByte} from the runtime.");
        }
    }

    private StreamCall? StreamOf(ulong requestId) => _streams.TryGetValue(requestId, out var call) ? call : null;

    private void Fail(Exception cause)
    {
        var failure = new ConnectorException(ErrorClass.Transient, $"The connection to the connector runtime at {_endpoint} was lost: {cause.Message}", cause) { RuntimeUnavailable = true };
        if (Interlocked.CompareExchange(ref _failure, failure, null) is not null)
        {
            return;
        }

        if (!_closing.IsCancellationRequested)
        {
            // Our runtime closes connections that stay idle for Runtime:IdleTimeout: with nothing waiting on this
            // one that is routine, and the next call opens a new connection.
            if (_pending.IsEmpty && _healthChecks.IsEmpty && _streams.IsEmpty)
            {
                LogClosedWhileIdle(_logger, _endpoint.ToString(), cause.Message);
            }
            else
            {
                LogLost(_logger, _endpoint.ToString(), cause.Message);
            }
        }

        foreach (var (id, waiter) in _pending)
        {
            waiter.TrySetException(new ConnectorException(ErrorClass.Transient, failure.Message, cause) { RequestId = id, RuntimeUnavailable = true });
        }

        while (_healthChecks.TryDequeue(out var check))
        {
            check.TrySetException(failure);
        }

        foreach (var (id, stream) in _streams)
        {
            if (_streams.TryRemove(id, out _))
            {
                stream.Fail(new ConnectorException(ErrorClass.Transient, failure.Message, cause) { RequestId = id, RuntimeUnavailable = true });
            }
        }

        _socket.Dispose();
    }

    private void ThrowIfFailed()
    {
        if (_failure is { } failure)
        {
            throw new ConnectorException(ErrorClass.Transient, failure.Message, failure.InnerException) { RuntimeUnavailable = true };
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        Fail(new ObjectDisposedException(nameof(RuntimeConnection), "the client closed the connection"));
        await _readLoop;
        await _stream.DisposeAsync();
        _writer.Dispose();
        _closing.Dispose();
        _inFlightGate?.Dispose();
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Connected to the connector runtime at {Endpoint}")]
    private static partial void LogConnected(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Connection to the connector runtime at {Endpoint} lost: {Cause}")]
    private static partial void LogLost(ILogger logger, string endpoint, string cause);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "Connection to the connector runtime at {Endpoint} closed while idle: {Cause}")]
    private static partial void LogClosedWhileIdle(ILogger logger, string endpoint, string cause);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Dropped a late response for request {RequestId} (its caller gave up)")]
    private static partial void LogLateResponse(ILogger logger, ulong requestId);
}
