using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Google.FlatBuffers;
using Worker.Connector;
using Worker.Connector.Protocol;
using Worker.Runtime.Diagnostics;

namespace Worker.Runtime.Server;

/// <summary>
/// One client connection. A single loop reads frames; each request runs on its own and is answered as soon as it is
/// done (matched by request_id), so a connection carries any number of requests at once and the original
/// one-at-a-time SDKs work unchanged. A frame that breaks the protocol closes only this connection.
/// </summary>
/// <remarks>
/// What a connection may hold is bounded (<see cref="ConnectionLimits"/>): requests in flight (its share of the
/// credits), bytes of answers the client has not read yet, time idle, time for one frame, time for one answer write.
/// A peer that goes away (close or reset) cancels its requests at once, so their credits come back; a peer that only
/// shuts down its sending side (half-close) is still answered.
/// </remarks>
internal sealed class ClientConnection : IStreamFrameWriter
{
    // While the read loop is not reading (waiting for room, or the client half-closed), how often the peer is checked.
    private static readonly TimeSpan PeerProbeInterval = TimeSpan.FromMilliseconds(100);

    // Nothing signals "the client read enough"; a connection only waits on this when its client reads slowly.
    private static readonly TimeSpan UnsentPollInterval = TimeSpan.FromMilliseconds(20);

    // FlatBuffers table, strings and frame header around an answer's payload, counted as unsent bytes.
    private const int AnswerOverhead = 256;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly ConnectionFrameReader _reader;
    private readonly FrameWriter _writer;
    private readonly ConnectionServices _services;
    private readonly ConnectionLimits _limits;
    private readonly SemaphoreSlim _slots;
    private readonly Action<ClientConnection> _closed;
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _answered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Requests running now, by id: what a CancelRequest cancels and a StreamWindow grants to.
    private readonly ConcurrentDictionary<ulong, RunningRequest> _running = new();
    private Task _run = Task.CompletedTask;
    private int _pending;

    // While a request waits for room the loop keeps reading control frames (see WaitForRoomReadingControlAsync):
    // a read begun then, a request frame read then (held until there is room), and whether the peer ended its side.
    private Task<Frame?>? _readAhead;
    private Frame? _held;
    private bool _peerEnded;
    private int _admitting;
    private long _unsentBytes;
    private string? _closeReason;
    private volatile bool _readEnded;

    // Write watchdog (Runtime:WriteTimeout): frames waiting or being written, and when one last finished.
    private readonly ITimer _writeWatch;
    private int _writing;
    private long _writeProgress;

    public ClientConnection(long id, Socket socket, string transport, ConnectionServices services, Action<ClientConnection> closed)
    {
        Id = id;
        Transport = transport;
        _socket = socket;
        _services = services;
        _limits = services.Limits;
        _closed = closed;
        _slots = new SemaphoreSlim(_limits.MaxInFlight, _limits.MaxInFlight);
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new ConnectionFrameReader(_stream, _limits.IdleTimeout, _limits.FrameTimeout, () => Volatile.Read(ref _pending) > 0 || Volatile.Read(ref _admitting) != 0);
        _writer = new FrameWriter(_stream);
        var period = TimeSpan.FromTicks(Math.Clamp(_limits.WriteTimeout.Ticks / 4, TimeSpan.TicksPerMillisecond * 10, TimeSpan.TicksPerSecond));
        _writeWatch = TimeProvider.System.CreateTimer(static s => ((ClientConnection)s!).CheckWrites(), this, period, period);
    }

    public long Id { get; }

    public string Transport { get; }

    /// <summary>Bytes of answers ready but not yet written (tests watch it).</summary>
    internal long UnsentBytes => Interlocked.Read(ref _unsentBytes);

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
                await WriteFrameAsync(MessageType.CreditUpdate, credits, IpcSerializer.Write);
            }

            while (await ReadNextAsync() is { } frame)
            {
                await HandleAsync(frame);
            }

            // End of stream between frames: a full close, or only a half-close (the client still reads its answers).
            if (!await PeerCanReceiveAsync(_closing.Token))
            {
                await CancelQuietlyAsync();
            }
            else
            {
                reason = "the client ended its sending side (half-close); answering what it sent";
            }
        }
        catch (ProtocolException ex)
        {
            // The stream position is lost (or the client does not speak the protocol): this connection is done.
            reason = ex.Message;
            _services.Metrics.ProtocolError();
            RuntimeLog.ProtocolViolation(logger, Id, ex.Message);
            await CancelQuietlyAsync();
        }
        catch (ConnectionTimeoutException ex)
        {
            reason = ex.Message;
            _services.Metrics.ConnectionTimedOut(ex.Reason);
            if (ex.Reason == ConnectionTimeoutException.IdleReason)
            {
                RuntimeLog.ConnectionIdle(logger, Id, ex.Message);
            }
            else
            {
                RuntimeLog.ConnectionTimedOut(logger, Id, ex.Message);
            }

            await CancelQuietlyAsync();
        }
        catch (OperationCanceledException) when (_closing.IsCancellationRequested)
        {
            reason = _closeReason ?? "closed by the runtime";
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
            // A reset (or a socket closed under us by a write timeout): nobody is left to answer.
            reason = _closeReason ?? ex.Message;
            await CancelQuietlyAsync();
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
            await DropReadAheadAsync();
            await _reader.CompleteAsync();
        }

        RuntimeLog.ConnectionEnded(logger, Id, reason);

        // Requests already started are still answered after a half-close; they end by their (capped) deadline, and
        // all of them are cancelled as soon as the peer is gone or an answer cannot be written.
        _readEnded = true;
        if (Volatile.Read(ref _pending) == 0)
        {
            _answered.TrySetResult();
        }

        using (var watching = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token))
        {
            var watch = WatchPeerAsync(watching.Token);
            await _answered.Task;
            await watching.CancelAsync();
            await watch;
        }

        await _writeWatch.DisposeAsync();

        await _stream.DisposeAsync();
        _writer.Dispose();
        _reader.Dispose();
        _slots.Dispose();
        _closing.Dispose();
        _closed(this);
    }

    /// <summary>The next frame: one held while waiting for room, the read begun then, or a new read; null once the peer ended its side.</summary>
    private async ValueTask<Frame?> ReadNextAsync()
    {
        if (_held is { } held)
        {
            _held = null;
            return held;
        }

        if (_peerEnded)
        {
            return null;
        }

        if (_readAhead is { } readAhead)
        {
            _readAhead = null;
            return await readAhead;
        }

        return await _reader.ReadAsync(_closing.Token);
    }

    /// <summary>A read still running when the loop ends (it is cancelled with the connection) must end before the reader completes.</summary>
    private async Task DropReadAheadAsync()
    {
        _held?.Dispose();
        _held = null;
        if (_readAhead is not { } readAhead)
        {
            return;
        }

        _readAhead = null;
        try
        {
            (await readAhead)?.Dispose();
        }
        catch (Exception ex) when (ex is OperationCanceledException or ProtocolException or ConnectionTimeoutException or IOException or SocketException or ObjectDisposedException)
        {
            // The connection is closing anyway.
        }
    }

    private static bool IsControl(Frame frame) => frame.TypeByte is (byte)MessageType.HealthCheck or (byte)MessageType.StreamWindow or (byte)MessageType.CancelRequest;

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
                case (byte)MessageType.StreamWindow:
                    var grant = IpcSerializer.ReadStreamWindow(frame.Buffer, frame.Length);
                    // A grant for a request that already ended is a normal race, not an error.
                    if (_running.TryGetValue(grant.RequestId, out var granted))
                    {
                        granted.Stream?.Grant(grant.Bytes);
                    }

                    return;
                case (byte)MessageType.CancelRequest:
                    Cancel(IpcSerializer.ReadCancelRequest(frame.Buffer, frame.Length).RequestId);
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
                        $"Unexpected message type {frame.TypeByte} from a client (expected {(byte)MessageType.ExecuteRequest} ExecuteRequest, {(byte)MessageType.HealthCheck} HealthCheck, {(byte)MessageType.StreamWindow} StreamWindow or {(byte)MessageType.CancelRequest} CancelRequest)."));
            }
        }

        await StartRequestAsync(request);
    }

    private async Task StartRequestAsync(ExecuteRequestMessage request)
    {
        var started = Stopwatch.GetTimestamp();
        if (_services.Lifetime.IsDraining)
        {
            await AnswerAsync(request.RequestId, ExecutionResult.Failure(ErrorClass.Transient, ServerLifetime.ShuttingDownMessage), TimeSpan.Zero);
            return;
        }

        if (!TryAdmitNow() && !await WaitForRoomReadingControlAsync(request, started))
        {
            return;
        }

        Interlocked.Increment(ref _pending);
        _ = ExecuteAndAnswerAsync(request, started);
    }

    /// <summary>Takes a slot of this connection's share and a credit without waiting, if both are free.</summary>
    private bool TryAdmitNow()
    {
        if (Volatile.Read(ref _unsentBytes) > _limits.MaxUnsentBytes || !_slots.Wait(0))
        {
            return false;
        }

        if (_services.Credits.TryAcquire())
        {
            return true;
        }

        _slots.Release();
        return false;
    }

    /// <summary>
    /// Waits for room (<see cref="WaitForRoomAsync"/>) while still reading the connection's control frames: window
    /// grants, cancels and health checks are handled at once, since the requests holding the slots may need them to
    /// finish (a stream waiting for window, a cancel freeing a slot). The first further request frame is held and stops
    /// the reading until there is room: that is the backpressure, now one request later.
    /// </summary>
    private async Task<bool> WaitForRoomReadingControlAsync(ExecuteRequestMessage request, long started)
    {
        var room = WaitForRoomAsync(request, started);
        Volatile.Write(ref _admitting, 1);
        try
        {
            while (!room.IsCompleted && _held is null && !_peerEnded)
            {
                _readAhead ??= _reader.ReadAsync(_closing.Token).AsTask();
                if (await Task.WhenAny(room, _readAhead) == room)
                {
                    break;
                }

                var read = _readAhead;
                _readAhead = null;
                if (await read is not { } frame)
                {
                    // Half-close: this request is still answered, then the loop ends.
                    _peerEnded = true;
                }
                else if (IsControl(frame))
                {
                    await HandleAsync(frame);
                }
                else
                {
                    _held = frame;
                }
            }

            return await room;
        }
        catch
        {
            _ = ReleaseIfAdmittedAsync(room);
            throw;
        }
        finally
        {
            Volatile.Write(ref _admitting, 0);
        }
    }

    /// <summary>Room found for a request that will not start (the connection failed meanwhile): give it back.</summary>
    private async Task ReleaseIfAdmittedAsync(Task<bool> room)
    {
        try
        {
            if (await room)
            {
                _services.Credits.Release();
                _slots.Release();
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or IOException or SocketException)
        {
            // Not admitted, or the connection is gone with its slots.
        }
    }

    /// <summary>
    /// Waits for room (reading no further requests meanwhile: the backpressure): until the client has read enough of its
    /// answers, this connection has a free slot of its share, and the runtime a free credit. Meanwhile the peer is
    /// watched, so a client that closes stops holding anything at once. Gives up, answering the request, when its
    /// deadline (capped at <c>Runtime:UpstreamTimeout</c>) passes or the runtime starts to stop.
    /// </summary>
    private async Task<bool> WaitForRoomAsync(ExecuteRequestMessage request, long started)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token, _services.Lifetime.Draining);
        wait.CancelAfter(_services.Executor.TimeLeft(request));
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(wait.Token);
        var watch = WatchPeerAsync(watching.Token);
        var waitingFor = "the client to read its answers (Runtime:MaxUnsentBytesPerConnection)";
        var slot = false;
        try
        {
            while (Volatile.Read(ref _unsentBytes) > _limits.MaxUnsentBytes)
            {
                await Task.Delay(UnsentPollInterval, wait.Token);
            }

            waitingFor = string.Create(CultureInfo.InvariantCulture, $"a free slot of this connection (Runtime:MaxInFlightPerConnection = {_limits.MaxInFlight})");
            await _slots.WaitAsync(wait.Token);
            slot = true;
            waitingFor = string.Create(CultureInfo.InvariantCulture, $"a free slot (Runtime:MaxInFlight = {_services.Credits.Capacity} requests in flight)");
            await _services.Credits.AcquireAsync(wait.Token);
            return true;
        }
        catch (OperationCanceledException) when (!_closing.IsCancellationRequested)
        {
            ReleaseSlot(slot);
            var result = _services.Lifetime.IsDraining
                ? ExecutionResult.Failure(ErrorClass.Transient, ServerLifetime.ShuttingDownMessage)
                : ExecutionResult.Failure(ErrorClass.Timeout, $"Deadline exceeded while waiting for {waitingFor}.");
            await AnswerAsync(request.RequestId, result, Stopwatch.GetElapsedTime(started));
            return false;
        }
        catch
        {
            ReleaseSlot(slot);
            throw;
        }
        finally
        {
            await watching.CancelAsync();
            await watch;
        }
    }

    private void ReleaseSlot(bool held)
    {
        if (held)
        {
            _slots.Release();
        }
    }

    private async Task ExecuteAndAnswerAsync(ExecuteRequestMessage request, long started)
    {
        using var cancel = new CancellationTokenSource();
        var stream = StreamProtocol.TryGetWindow(request, out var window) && _services.Executor.CanStream(request)
            ? new ResponseStream(request.RequestId, window, this, _services.Streams)
            : null;
        var running = new RunningRequest(cancel, stream);
        // An id already running on this connection (a client bug) is still answered, but cannot be cancelled or streamed.
        var registered = _running.TryAdd(request.RequestId, running);
        try
        {
            if (stream is not null && registered)
            {
                await StreamAsync(request, stream, cancel.Token, started);
            }
            else
            {
                var result = await _services.Executor.ExecuteAsync(request, _closing.Token, cancel.Token);
                await AnswerAsync(request.RequestId, result, Stopwatch.GetElapsedTime(started));
            }
        }
        finally
        {
            if (registered)
            {
                _running.TryRemove(new KeyValuePair<ulong, RunningRequest>(request.RequestId, running));
            }

            _services.Credits.Release();
            _slots.Release();
            if (Interlocked.Decrement(ref _pending) == 0)
            {
                if (_readEnded)
                {
                    _answered.TrySetResult();
                }
                else
                {
                    _reader.RequestsDrained();
                }
            }
        }
    }

    /// <summary>
    /// Answers <paramref name="request"/> as a stream: StreamStart (from then on the client may grant window and
    /// cancel), the operation's head and chunks, then StreamEnd with the outcome.
    /// </summary>
    private async Task StreamAsync(ExecuteRequestMessage request, ResponseStream stream, CancellationToken cancelled, long started)
    {
        _services.Streams.StreamStarted();
        ExecutionResult result;
        try
        {
            await WriteStreamFrameAsync(request.RequestId, MessageType.StreamStart, new StreamStartMessage(request.RequestId, (uint)stream.Window), IpcSerializer.Write);
            result = await _services.Executor.ExecuteAsync(request, _closing.Token, cancelled, stream);
        }
        catch (OperationCanceledException)
        {
            // StreamStart could not be written: the connection is closing, nobody is left to answer.
            return;
        }

        if (_closing.IsCancellationRequested)
        {
            RuntimeLog.AnswerLost(_services.Logger, request.RequestId, Id, _closeReason ?? "the connection is closing");
            return;
        }

        var end = new StreamEndMessage
        {
            RequestId = request.RequestId,
            ErrorClass = result.ErrorClass,
            ErrorMessage = result.ErrorMessage,
            DurationUs = (ulong)(Stopwatch.GetElapsedTime(started).Ticks / TimeSpan.TicksPerMicrosecond),
        };
        try
        {
            await WriteStreamFrameAsync(request.RequestId, MessageType.StreamEnd, end, IpcSerializer.Write);
        }
        catch (OperationCanceledException)
        {
            // Logged as lost by the failed write.
        }
    }

    /// <summary>A client's CancelRequest: the request's upstream call is aborted now; its answer still closes the id.</summary>
    private void Cancel(ulong requestId)
    {
        if (!_running.TryGetValue(requestId, out var running))
        {
            // Already answered (a normal race) or never sent.
            return;
        }

        _services.Metrics.RequestCancelled();
        _services.Streams.RequestCancelled();
        RuntimeLog.RequestCancelled(_services.Logger, requestId, Id);
        try
        {
            running.Cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // It finished meanwhile.
        }
    }

    public ValueTask WriteHeadAsync(StreamHeadMessage head) =>
        WriteStreamFrameAsync(head.RequestId, MessageType.StreamHead, head, IpcSerializer.Write);

    public ValueTask WriteChunkAsync(ulong requestId, ReadOnlyMemory<byte> data) =>
        WriteStreamFrameAsync(requestId, MessageType.StreamChunk, (requestId, data), IpcSerializer.WriteStreamChunk, data.Length);

    /// <summary>
    /// Writes one frame of a stream, counted as unsent bytes like an answer. When the connection is closing or the
    /// write fails (the peer is gone; the connection is then closed) it throws <see cref="OperationCanceledException"/>,
    /// which stops the operation writing to it.
    /// </summary>
    private async ValueTask WriteStreamFrameAsync<TState>(ulong requestId, MessageType type, TState state, Action<FlatBufferBuilder, TState> build, int sizeHint = 0)
    {
        _closing.Token.ThrowIfCancellationRequested();
        var size = (long)sizeHint + AnswerOverhead;
        Interlocked.Add(ref _unsentBytes, size);
        try
        {
            await WriteFrameAsync(type, state, build, sizeHint);
            if (type == MessageType.StreamChunk)
            {
                _services.Metrics.StreamedBytes(sizeHint);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or ProtocolException)
        {
            RuntimeLog.AnswerLost(_services.Logger, requestId, Id, _closeReason ?? ex.Message);
            await CancelQuietlyAsync();
            throw new OperationCanceledException("The connection is closing.", ex, _closing.Token);
        }
        finally
        {
            Interlocked.Add(ref _unsentBytes, -size);
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
        if (_closing.IsCancellationRequested)
        {
            // The peer is gone or the connection is being closed: nobody will read it. (A flood's thousand cancelled
            // requests end here, so their credits come back without a thousand failed writes first.)
            RuntimeLog.AnswerLost(_services.Logger, requestId, Id, _closeReason ?? "the connection is closing");
            return;
        }

        var size = (long)response.Payload.Length + (response.ErrorMessage?.Length ?? 0) + AnswerOverhead;
        Interlocked.Add(ref _unsentBytes, size);
        try
        {
            await WriteFrameAsync(MessageType.ExecuteResponse, response, IpcSerializer.Write, response.Payload.Length);
        }
        catch (ProtocolException ex) when (result.ErrorClass == ErrorClass.Success)
        {
            // Operations keep their payloads under the frame limit; should one not, the caller still gets an answer.
            Interlocked.Add(ref _unsentBytes, -size);
            size = 0;
            await AnswerAsync(requestId, ExecutionResult.Failure(ErrorClass.Permanent, $"The answer does not fit one frame: {ex.Message}"), elapsed);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or ProtocolException)
        {
            RuntimeLog.AnswerLost(_services.Logger, requestId, Id, _closeReason ?? ex.Message);
            await CancelQuietlyAsync();
        }
        finally
        {
            Interlocked.Add(ref _unsentBytes, -size);
        }
    }

    private async Task WriteHealthAsync()
    {
        var credits = _services.Credits;
        var draining = _services.Lifetime.IsDraining;
        var health = new HealthCheckResponseMessage(!draining, draining ? ServerLifetime.ShuttingDownMessage : "ok", (uint)credits.Active, (uint)credits.Available);
        await WriteFrameAsync(MessageType.HealthResponse, health, IpcSerializer.Write);
    }

    /// <summary>
    /// Writes one frame, watched by <c>Runtime:WriteTimeout</c>: when frames wait or are being written and none has
    /// finished for that long, the client is not reading. It would otherwise keep the write, and every request behind
    /// it, forever: the socket is closed, which fails the write and cancels the connection's requests.
    /// </summary>
    private async ValueTask WriteFrameAsync<TState>(MessageType type, TState state, Action<FlatBufferBuilder, TState> build, int sizeHint = 0)
    {
        // One watchdog per connection instead of a timer per frame (several per streamed answer): it fires when
        // frames are waiting or being written and none has finished for WriteTimeout.
        if (Volatile.Read(ref _writing) == 0)
        {
            Volatile.Write(ref _writeProgress, Stopwatch.GetTimestamp());
        }

        Interlocked.Increment(ref _writing);
        try
        {
            await _writer.WriteAsync(type, state, build, _closing.Token, sizeHint);
        }
        finally
        {
            Volatile.Write(ref _writeProgress, Stopwatch.GetTimestamp());
            Interlocked.Decrement(ref _writing);
        }
    }

    private void CheckWrites()
    {
        if (Volatile.Read(ref _writing) > 0 && Stopwatch.GetElapsedTime(Volatile.Read(ref _writeProgress)) > _limits.WriteTimeout)
        {
            // Once is enough: the connection is closing.
            _writeWatch.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            AbortStalledWrite();
        }
    }

    private void AbortStalledWrite()
    {
        var reason = string.Create(CultureInfo.InvariantCulture,
            $"an answer could not be written within Runtime:WriteTimeout ({_limits.WriteTimeout.TotalSeconds:0.###} s): the client is not reading");
        if (Interlocked.CompareExchange(ref _closeReason, reason, null) is null)
        {
            _services.Metrics.ConnectionTimedOut(ConnectionTimeoutException.WriteReason);
            RuntimeLog.ConnectionTimedOut(_services.Logger, Id, reason);
        }

        _ = CancelQuietlyAsync();
        _socket.Dispose();
    }

    /// <summary>Checks the peer every <see cref="PeerProbeInterval"/> until stopped; cancels everything once it is gone.</summary>
    private async Task WatchPeerAsync(CancellationToken stop)
    {
        try
        {
            while (true)
            {
                await Task.Delay(PeerProbeInterval, stop);
                if (!await PeerCanReceiveAsync(stop))
                {
                    Interlocked.CompareExchange(ref _closeReason, "the client closed the connection", null);
                    await CancelQuietlyAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped: the wait is over, or the connection is closing anyway.
        }
    }

    /// <summary>
    /// Whether the peer can still receive. A zero-byte send writes nothing, yet the kernel refuses it once the peer
    /// has closed a Unix socket (EPIPE: the close shut down our sending side) or reset the connection, while a peer
    /// that only shut down its own sending side (half-close) still accepts it. Over TCP a peer's close and half-close
    /// look alike until it resets; there a close is noticed by the reset or by the next answer's write.
    /// </summary>
    private async ValueTask<bool> PeerCanReceiveAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _socket.SendAsync(ReadOnlyMemory<byte>.Empty, SocketFlags.None, cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
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

    /// <summary>A request in flight: its client-cancel source and, when answered as a stream, the stream.</summary>
    private sealed record RunningRequest(CancellationTokenSource Cancel, ResponseStream? Stream);
}
