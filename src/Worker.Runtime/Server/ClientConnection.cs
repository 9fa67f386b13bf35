using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Worker.Connector;
using Worker.Connector.Protocol;
using Worker.Runtime.Diagnostics;

namespace Worker.Runtime.Server;

/// <summary>
/// One client connection. A single loop reads frames; each request runs on its own and is answered as soon as it is
/// done (matched by request_id), so a connection carries any number of requests at once and the original
/// one-at-a-time SDKs work unchanged. A frame that breaks the protocol closes only this connection.
/// </summary>
internal sealed class ClientConnection
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly FrameReader _reader;
    private readonly FrameWriter _writer;
    private readonly ConnectionServices _services;
    private readonly Action<ClientConnection> _closed;
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _answered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _run = Task.CompletedTask;
    private int _pending;
    private volatile bool _readEnded;

    public ClientConnection(long id, Socket socket, string transport, ConnectionServices services, Action<ClientConnection> closed)
    {
        Id = id;
        Transport = transport;
        _socket = socket;
        _services = services;
        _closed = closed;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new FrameReader(_stream);
        _writer = new FrameWriter(_stream);
    }

    public long Id { get; }

    public string Transport { get; }

    public void Start() => _run = RunAsync();

    /// <summary>
    /// Stops reading and closes the socket. Answers still being written get a moment; after that the socket is
    /// closed under them, since a peer that stopped reading must not hold up a stop.
    /// </summary>
    public async Task CloseAsync()
    {
        await CancelQuietlyAsync();
        try
        {
            await _run.WaitAsync(TimeSpan.FromSeconds(1));
        }
        catch (TimeoutException)
        {
            _socket.Dispose();
            await _run;
        }
    }

    private async Task RunAsync()
    {
        var logger = _services.Logger;
        var reason = "the client closed the connection";
        try
        {
            if (_services.SendCreditUpdates)
            {
                var credits = new CreditUpdateMessage(_services.Credits.Available, (uint)_services.Credits.Capacity);
                await _writer.WriteAsync(MessageType.CreditUpdate, credits, IpcSerializer.Write, _closing.Token);
            }

            while (await _reader.ReadAsync(_closing.Token) is { } frame)
            {
                await HandleAsync(frame);
            }
        }
        catch (ProtocolException ex)
        {
            // The stream position is lost (or the client does not speak the protocol): this connection is done.
            reason = ex.Message;
            _services.Metrics.ProtocolError();
            RuntimeLog.ProtocolViolation(logger, Id, ex.Message);
            await _closing.CancelAsync();
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
            reason = "closed by the runtime";
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            reason = ex.Message;
        }
        catch (Exception ex)
        {
            // A bug must cost one connection, not leak it or the process.
            reason = ex.Message;
            RuntimeLog.ConnectionCrashed(logger, Id, ex);
            await CancelQuietlyAsync();
        }
        finally
        {
            await _reader.CompleteAsync();
        }

        RuntimeLog.ConnectionEnded(logger, Id, reason);

        // Requests already started are still answered (a client may half-close after sending); they end by their
        // deadline, and all of them are cancelled as soon as an answer cannot be written.
        _readEnded = true;
        if (Volatile.Read(ref _pending) == 0)
        {
            _answered.TrySetResult();
        }

        await _answered.Task;
        await _stream.DisposeAsync();
        _writer.Dispose();
        _closing.Dispose();
        _closed(this);
    }

    /// <summary>Handles one frame; returns once the loop may read the next one (for a request: once it holds a credit).</summary>
    private async Task HandleAsync(Frame frame)
    {
        ExecuteRequestMessage request;
        using (frame)
        {
            switch (frame.TypeByte)
            {
                case (byte)MessageType.HealthCheck:
                    // Any payload is accepted, including none: only the type matters.
                    await WriteHealthAsync();
                    return;
                case (byte)MessageType.ExecuteRequest:
                    try
                    {
                        request = IpcSerializer.ReadExecuteRequest(frame.Buffer, frame.Length);
                    }
                    catch (ProtocolException ex) when (ex.RequestId is { } requestId)
                    {
                        // The framing is intact and the id is known: answer this request, keep the connection.
                        _services.Metrics.ProtocolError();
                        RuntimeLog.RejectedRequest(_services.Logger, requestId, Id, ex.Message);
                        await AnswerAsync(requestId, ExecutionResult.Failure(ErrorClass.InvalidRequest, $"Invalid ExecuteRequest: {ex.Message}"), TimeSpan.Zero);
                        return;
                    }

                    break;
                default:
                    throw new ProtocolException(string.Create(CultureInfo.InvariantCulture,
                        $"Unexpected message type {frame.TypeByte} from a client (expected {(byte)MessageType.ExecuteRequest} ExecuteRequest or {(byte)MessageType.HealthCheck} HealthCheck)."));
            }
        }

        await StartRequestAsync(request);
    }

    private async Task StartRequestAsync(ExecuteRequestMessage request)
    {
        var started = Stopwatch.GetTimestamp();
        var credits = _services.Credits;
        if (_services.Lifetime.IsDraining)
        {
            await AnswerAsync(request.RequestId, ExecutionResult.Failure(ErrorClass.Transient, ServerLifetime.ShuttingDownMessage), TimeSpan.Zero);
            return;
        }

        if (!credits.TryAcquire() && !await WaitForCreditAsync(request, started))
        {
            return;
        }

        Interlocked.Increment(ref _pending);
        _ = ExecuteAndAnswerAsync(request, started);
    }

    /// <summary>
    /// Waits for a credit without reading further frames (the backpressure). Gives up, answering the request, when
    /// its deadline passes or the runtime starts to stop.
    /// </summary>
    private async Task<bool> WaitForCreditAsync(ExecuteRequestMessage request, long started)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token, _services.Lifetime.Draining);
        if (request.DeadlineAtMs != 0)
        {
            var remainingMs = (double)request.DeadlineAtMs - _services.Time.GetUtcNow().ToUnixTimeMilliseconds();
            wait.CancelAfter(TimeSpan.FromMilliseconds(Math.Clamp(remainingMs, 0, int.MaxValue)));
        }

        try
        {
            await _services.Credits.AcquireAsync(wait.Token);
            return true;
        }
        catch (OperationCanceledException) when (!_closing.IsCancellationRequested)
        {
            var result = _services.Lifetime.IsDraining
                ? ExecutionResult.Failure(ErrorClass.Transient, ServerLifetime.ShuttingDownMessage)
                : ExecutionResult.Failure(ErrorClass.Timeout, string.Create(CultureInfo.InvariantCulture,
                    $"Deadline exceeded while waiting for a free slot (Runtime:MaxInFlight = {_services.Credits.Capacity} requests in flight)."));
            await AnswerAsync(request.RequestId, result, Stopwatch.GetElapsedTime(started));
            return false;
        }
    }

    private async Task ExecuteAndAnswerAsync(ExecuteRequestMessage request, long started)
    {
        try
        {
            var result = await _services.Executor.ExecuteAsync(request, _closing.Token);
            await AnswerAsync(request.RequestId, result, Stopwatch.GetElapsedTime(started));
        }
        finally
        {
            _services.Credits.Release();
            if (Interlocked.Decrement(ref _pending) == 0 && _readEnded)
            {
                _answered.TrySetResult();
            }
        }
    }

    /// <summary>Writes an ExecuteResponse. A failed write means the peer is gone: the connection is closed.</summary>
    private async Task AnswerAsync(ulong requestId, ExecutionResult result, TimeSpan elapsed)
    {
        var response = new ExecuteResponseMessage
        {
            RequestId = requestId,
            ErrorClass = result.ErrorClass,
            ErrorMessage = result.ErrorMessage,
            Payload = result.Payload,
            DurationUs = (ulong)(elapsed.Ticks / TimeSpan.TicksPerMicrosecond),
        };
        try
        {
            await _writer.WriteAsync(MessageType.ExecuteResponse, response, IpcSerializer.Write, _closing.Token, response.Payload.Length);
        }
        catch (ProtocolException ex) when (result.ErrorClass == ErrorClass.Success)
        {
            // Operations keep their payloads under the frame limit; should one not, the caller still gets an answer.
            await AnswerAsync(requestId, ExecutionResult.Failure(ErrorClass.Permanent, $"The answer does not fit one frame: {ex.Message}"), elapsed);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or ProtocolException)
        {
            RuntimeLog.AnswerLost(_services.Logger, requestId, Id, ex.Message);
            await CancelQuietlyAsync();
        }
    }

    private async Task WriteHealthAsync()
    {
        var credits = _services.Credits;
        var draining = _services.Lifetime.IsDraining;
        var health = new HealthCheckResponseMessage(!draining, draining ? ServerLifetime.ShuttingDownMessage : "ok", (uint)credits.Active, (uint)credits.Available);
        await _writer.WriteAsync(MessageType.HealthResponse, health, IpcSerializer.Write, _closing.Token);
    }

    private async Task CancelQuietlyAsync()
    {
        try
        {
            await _closing.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
            // Already closed.
        }
    }
}
