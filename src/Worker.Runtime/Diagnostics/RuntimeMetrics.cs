using System.Diagnostics;
using System.Diagnostics.Metrics;
using Worker.Connector;

namespace Worker.Runtime.Diagnostics;

/// <summary>
/// The runtime's instruments (Meter <see cref="RuntimeDiagnostics.MeterName"/>). One per server: the meter comes
/// from the host's <see cref="IMeterFactory"/> when there is one, so embedded and test servers do not share counters.
/// </summary>
internal sealed class RuntimeMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly UpDownCounter<long> _active;
    private readonly UpDownCounter<long> _connections;
    private readonly Counter<long> _protocolErrors;
    private readonly Counter<long> _rejectedConnections;
    private readonly Counter<long> _timedOutConnections;
    private readonly Counter<long> _cancelled;
    private readonly Counter<long> _streamedBytes;

    public RuntimeMetrics(IMeterFactory? meterFactory)
    {
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(RuntimeDiagnostics.MeterName) ?? new Meter(RuntimeDiagnostics.MeterName);
        _requests = _meter.CreateCounter<long>("worker.runtime.requests", "{request}", "Requests answered, by connector and outcome (error class).");
        _duration = _meter.CreateHistogram<double>("worker.runtime.request.duration", "s", "Time from reading a request to answering it.");
        _active = _meter.CreateUpDownCounter<long>("worker.runtime.requests.active", "{request}", "Requests in flight (holding a credit).");
        _connections = _meter.CreateUpDownCounter<long>("worker.runtime.connections", "{connection}", "Open client connections.");
        _protocolErrors = _meter.CreateCounter<long>("worker.runtime.protocol_errors", "{error}", "Frames rejected as malformed.");
        _rejectedConnections = _meter.CreateCounter<long>("worker.runtime.connections.rejected", "{connection}", "Connections closed at accept: Runtime:MaxConnections reached.");
        _timedOutConnections = _meter.CreateCounter<long>("worker.runtime.connections.timed_out", "{connection}",
            "Connections closed by a time limit, by reason (idle, frame_timeout, write_timeout).");
        _cancelled = _meter.CreateCounter<long>("worker.runtime.requests.cancelled", "{request}", "Requests a client cancelled (CancelRequest) while they ran.");
        _streamedBytes = _meter.CreateCounter<long>("worker.runtime.stream.bytes", "By", "Upstream body bytes sent as stream chunks.");
    }

    public void RequestStarted() => _active.Add(1);

    /// <summary>A client's CancelRequest found its request running.</summary>
    public void RequestCancelled() => _cancelled.Add(1);

    /// <summary>Body bytes sent in StreamChunk frames.</summary>
    public void StreamedBytes(long bytes) => _streamedBytes.Add(bytes);

    public void RequestFinished(string connector, string operation, ErrorClass outcome, TimeSpan duration)
    {
        _active.Add(-1);
        var tags = new TagList
        {
            { "connector", connector },
            { "operation", operation },
            { "outcome", OutcomeName(outcome) },
        };
        _requests.Add(1, tags);
        _duration.Record(duration.TotalSeconds, tags);
    }

    /// <summary>A request answered without running (bad payload, shutting down): counted, not timed.</summary>
    public void RequestRejected(string connector, string operation, ErrorClass outcome) =>
        _requests.Add(1, new TagList { { "connector", connector }, { "operation", operation }, { "outcome", OutcomeName(outcome) } });

    public void ConnectionOpened() => _connections.Add(1);

    public void ConnectionClosed() => _connections.Add(-1);

    public void ProtocolError() => _protocolErrors.Add(1);

    public void ConnectionRejected() => _rejectedConnections.Add(1);

    public void ConnectionTimedOut(string reason) => _timedOutConnections.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private static string OutcomeName(ErrorClass outcome) => outcome switch
    {
        ErrorClass.Success => "success",
        ErrorClass.Transient => "transient",
        ErrorClass.Permanent => "permanent",
        ErrorClass.RateLimited => "rate_limited",
        ErrorClass.Timeout => "timeout",
        ErrorClass.InvalidRequest => "invalid_request",
        _ => "unknown",
    };
}
