using System.Diagnostics;
using System.Globalization;
using Worker.Connector;
using Worker.Connector.Client;
using Worker.Connector.Protocol;
using Worker.Runtime.Diagnostics;

namespace Worker.Runtime.Server;

/// <summary>
/// The runtime's entry for a client in the same process (<see cref="ILocalRuntime"/>): requests go straight to the
/// <see cref="RequestExecutor"/> under the server's credits, deadline cap, drain and stream window, as a connection's
/// do, but without frames or a socket. A connection's own limits (slots, unsent bytes) have no counterpart: the
/// caller's queue of chunks is bounded by the window, and nothing is written anywhere.
/// </summary>
internal sealed class LocalRuntime : ILocalRuntime
{
    /// <summary>The connection id in log lines of in-process requests (real connections count from 1).</summary>
    public const long ConnectionId = 0;

    private readonly ConnectionServices _services;

    public LocalRuntime(ConnectionServices services)
    {
        _services = services;
    }

    public async Task<ExecuteResponseMessage> ExecuteAsync(ExecuteRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var started = Stopwatch.GetTimestamp();
        var result = await RunAsync(request, cancellationToken, stream: null);

        // Over the socket a caller that gave up gets no answer; here it learns that the same way.
        cancellationToken.ThrowIfCancellationRequested();
        return new ExecuteResponseMessage
        {
            RequestId = request.RequestId,
            ErrorClass = result.ErrorClass,
            ErrorMessage = result.ErrorMessage,
            Payload = result.Payload,
            DurationUs = Microseconds(started),
        };
    }

    public ILocalRuntimeStream CreateStream(ExecuteRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!StreamProtocol.TryGetWindow(request, out var window))
        {
            throw new ArgumentException($"Request {request.RequestId} does not ask for a stream (header {StreamProtocol.RequestHeader}).", nameof(request));
        }

        return new Stream(this, request, window);
    }

    /// <summary>Admits <paramref name="request"/>, runs it (into <paramref name="stream"/>, when given) and gives its credit back.</summary>
    private async Task<ExecutionResult> RunAsync(ExecuteRequestMessage request, CancellationToken cancelled, ResponseStream? stream)
    {
        if (await AdmitAsync(request, cancelled) is { } refused)
        {
            return refused;
        }

        try
        {
            if (stream is not null)
            {
                _services.Streams.StreamStarted();
            }

            return await _services.Executor.ExecuteAsync(request, CancellationToken.None, cancelled, stream);
        }
        finally
        {
            _services.Credits.Release();
        }
    }

    /// <summary>
    /// Takes a credit, waiting for one until the request's deadline (capped at <c>Runtime:UpstreamTimeout</c>). Null
    /// when admitted (the caller releases the credit); otherwise the answer: Timeout, or Transient when the runtime is
    /// stopping or the caller cancelled.
    /// </summary>
    private async Task<ExecutionResult?> AdmitAsync(ExecuteRequestMessage request, CancellationToken cancelled)
    {
        if (_services.Lifetime.IsDraining)
        {
            return ExecutionResult.Failure(ErrorClass.Transient, ServerLifetime.ShuttingDownMessage);
        }

        if (_services.Credits.TryAcquire())
        {
            return null;
        }

        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancelled, _services.Lifetime.Draining);
        wait.CancelAfter(_services.Executor.TimeLeft(request));
        try
        {
            await _services.Credits.AcquireAsync(wait.Token);
            return null;
        }
        catch (OperationCanceledException)
        {
            return _services.Lifetime.IsDraining ? ExecutionResult.Failure(ErrorClass.Transient, ServerLifetime.ShuttingDownMessage)
                : cancelled.IsCancellationRequested ? ExecutionResult.Failure(ErrorClass.Transient, "Cancelled by the client before the request started.")
                : ExecutionResult.Failure(ErrorClass.Timeout, string.Create(CultureInfo.InvariantCulture,
                    $"Deadline exceeded while waiting for a free slot (Runtime:MaxInFlight = {_services.Credits.Capacity} requests in flight)."));
        }
    }

    private static ulong Microseconds(long started) => (ulong)(Stopwatch.GetElapsedTime(started).Ticks / TimeSpan.TicksPerMicrosecond);

    /// <summary>One streamed request: its window (a <see cref="ResponseStream"/> writing to the receiver) and its cancel.</summary>
    private sealed class Stream : ILocalRuntimeStream, IStreamFrameWriter
    {
        private readonly LocalRuntime _runtime;
        private readonly ExecuteRequestMessage _request;
        private readonly ResponseStream _window;
        // Never disposed: it has no timer, and a late Cancel must not meet a disposed source.
        private readonly CancellationTokenSource _cancel = new();
        private IRuntimeStreamReceiver? _receiver;
        private volatile bool _ended;

        public Stream(LocalRuntime runtime, ExecuteRequestMessage request, int window)
        {
            _runtime = runtime;
            _request = request;
            _window = new ResponseStream(request.RequestId, window, this, runtime._services.Streams);
        }

        private ConnectionServices Services => _runtime._services;

        public void Start(IRuntimeStreamReceiver receiver)
        {
            ArgumentNullException.ThrowIfNull(receiver);
            if (Interlocked.CompareExchange(ref _receiver, receiver, null) is not null)
            {
                throw new InvalidOperationException($"Request {_request.RequestId} was started twice.");
            }

            _ = RunAsync(receiver);
        }

        public void Grant(uint bytes) => _window.Grant(bytes);

        public void Cancel()
        {
            // Like a CancelRequest for an id already answered: a normal race, nothing to do.
            if (_ended || _cancel.IsCancellationRequested)
            {
                return;
            }

            Services.Metrics.RequestCancelled();
            Services.Streams.RequestCancelled();
            RuntimeLog.RequestCancelled(Services.Logger, _request.RequestId, ConnectionId);
            _cancel.Cancel();
        }

        public ValueTask WriteHeadAsync(StreamHeadMessage head)
        {
            _cancel.Token.ThrowIfCancellationRequested();
            _receiver!.OnHead(head);
            return ValueTask.CompletedTask;
        }

        public ValueTask WriteChunkAsync(ulong requestId, ReadOnlyMemory<byte> data)
        {
            _cancel.Token.ThrowIfCancellationRequested();
            _receiver!.OnChunk(data.Span);
            Services.Metrics.StreamedBytes(data.Length);
            return ValueTask.CompletedTask;
        }

        /// <summary>Start, then (once admitted) the operation's head and chunks, then the end. Never throws.</summary>
        private async Task RunAsync(IRuntimeStreamReceiver receiver)
        {
            var started = Stopwatch.GetTimestamp();
            ExecutionResult result;
            try
            {
                // Started before admission (over the socket it follows it): a caller that gives up while the request
                // waits for a credit can then cancel the wait, instead of the request running once admitted.
                receiver.OnStart(new StreamStartMessage(_request.RequestId, (uint)_window.Window));
                result = await _runtime.RunAsync(_request, _cancel.Token, Services.Executor.CanStream(_request) ? _window : null);
            }
            catch (Exception ex)
            {
                // Only a receiver's bug can land here (the executor never throws): end the stream rather than leave it open.
                RuntimeLog.RequestCrashed(Services.Logger, _request.RequestId, ex);
                result = ExecutionResult.Failure(ErrorClass.Permanent, $"Internal runtime error ({ex.GetType().Name}).");
            }

            _ended = true;
            receiver.OnEnd(new StreamEndMessage
            {
                RequestId = _request.RequestId,
                ErrorClass = result.ErrorClass,
                ErrorMessage = result.ErrorMessage,
                DurationUs = Microseconds(started),
            });
        }
    }
}
