using System.Diagnostics;
using Worker.Connector.Protocol;

namespace Worker.Connector.Client;

/// <summary>
/// A streamed answer from the runtime (<see cref="RuntimeClient.ExecuteStreamAsync"/>): the head, then the body's
/// chunks as the upstream delivers them. A runtime that does not stream (the original) answers whole instead:
/// <see cref="Response"/> is set and there are no chunks. Dispose it: a stream given up before its end is cancelled
/// at the runtime, which aborts the upstream call.
/// </summary>
public sealed class RuntimeStream : IAsyncDisposable
{
    private readonly StreamCall _call;
    private readonly CancellationTokenSource _deadline;
    private readonly CancellationTokenRegistration _abort;
    private readonly Activity? _activity;
    private int _disposed;

    internal RuntimeStream(StreamCall call, CancellationTokenSource deadline, Func<Exception> abortReason, Activity? activity)
    {
        _call = call;
        _deadline = deadline;
        _activity = activity;
        // The caller's token and the call's timeout govern the whole stream, not only its opening.
        _abort = deadline.Token.Register(() => call.Abort(abortReason()));
    }

    public ulong RequestId => _call.RequestId;

    /// <summary>True when the runtime answers in chunks; false when it answered whole (<see cref="Response"/>).</summary>
    public bool IsStreamed => _call.Head is not null;

    /// <summary>The streamed head (status and headers), when <see cref="IsStreamed"/>.</summary>
    public StreamHeadMessage? Head => _call.Head;

    /// <summary>The whole answer of a runtime that does not stream.</summary>
    public ExecuteResponseMessage? Response => _call.Whole;

    /// <summary>The end frame, once the chunks have all been read.</summary>
    public StreamEndMessage? End => _call.End;

    /// <summary>Chunk bytes received and not yet read (bounded by the window).</summary>
    public long BufferedBytes => _call.Buffered;

    /// <summary>The window the runtime confirmed (0 when it does not stream).</summary>
    public int Window => _call.Window;

    /// <summary>
    /// The body's chunks, in order; each is valid until the next is asked for. Read once. Throws a
    /// <see cref="ConnectorException"/> when the stream fails (the runtime's error class, a lost connection, the
    /// call's timeout), or <see cref="OperationCanceledException"/> when the caller cancelled.
    /// </summary>
    public IAsyncEnumerable<ReadOnlyMemory<byte>> ReadChunksAsync(CancellationToken cancellationToken = default) =>
        _call.ReadAsync(cancellationToken);

    internal Task OpenedAsync() => _call.Opened;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _abort.DisposeAsync();
        if (_call.End is { } end)
        {
            _activity?.SetTag("vastar.error_class", end.ErrorClass.ToString());
            if (end.ErrorClass != ErrorClass.Success)
            {
                _activity?.SetStatus(ActivityStatusCode.Error, end.ErrorClass.ToString());
            }
        }

        _call.Release();
        _activity?.Dispose();
        _deadline.Dispose();
    }
}
