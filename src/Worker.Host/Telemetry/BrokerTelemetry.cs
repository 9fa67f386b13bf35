using System.Diagnostics.Metrics;

namespace Worker.Host.Telemetry;

/// <summary>
/// Broker connection and queue signals on the <c>Worker.Host</c> meter: connection events (lost, recovered,
/// blocked, unblocked), whether the connection is up, and the jobs queue's depth as last sampled.
/// Kept apart from <see cref="WorkerTelemetry"/> so job metrics and broker metrics evolve separately.
/// </summary>
public sealed class BrokerTelemetry
{
    private readonly Counter<long> _events;
    private int _connected;
    private int _blocked;
    private long _waiting = -1;
    private long _consumers = -1;

    public BrokerTelemetry(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);

        // The factory hands back the same Meter for the same name: these instruments sit next to WorkerTelemetry's.
        var meter = meterFactory.Create(WorkerTelemetry.SourceName);
        _events = meter.CreateCounter<long>("worker.broker.connection.events", "{event}", "Broker connection events, by event (lost, recovered, recovery_failed, blocked, unblocked).");
        meter.CreateObservableGauge("worker.broker.connected", () => Volatile.Read(ref _connected), "1", "1 while the broker connection is open.");
        meter.CreateObservableGauge("worker.broker.blocked", () => Volatile.Read(ref _blocked), "1", "1 while the broker blocks publishing (resource alarm).");
        meter.CreateObservableGauge("worker.queue.messages", ObserveWaiting, "{job}", "Jobs waiting in the jobs queue (ready, not delivered), sampled by passive declare.");
        meter.CreateObservableGauge("worker.queue.consumers", ObserveConsumers, "{consumer}", "Consumers on the jobs queue, sampled by passive declare.");
    }

    public bool IsConnected => Volatile.Read(ref _connected) == 1;

    public bool IsBlocked => Volatile.Read(ref _blocked) == 1;

    /// <summary>Jobs waiting at the last sample, or null before the first one.</summary>
    public long? Waiting => Volatile.Read(ref _waiting) is >= 0 and var waiting ? waiting : null;

    public void Connected() => Volatile.Write(ref _connected, 1);

    public void Lost()
    {
        Volatile.Write(ref _connected, 0);
        _events.Add(1, new KeyValuePair<string, object?>("event", "lost"));
    }

    public void Recovered()
    {
        Volatile.Write(ref _connected, 1);
        _events.Add(1, new KeyValuePair<string, object?>("event", "recovered"));
    }

    public void RecoveryFailed() => _events.Add(1, new KeyValuePair<string, object?>("event", "recovery_failed"));

    public void Blocked(bool blocked)
    {
        Volatile.Write(ref _blocked, blocked ? 1 : 0);
        _events.Add(1, new KeyValuePair<string, object?>("event", blocked ? "blocked" : "unblocked"));
    }

    public void QueueSampled(uint messages, uint consumers)
    {
        Volatile.Write(ref _waiting, messages);
        Volatile.Write(ref _consumers, consumers);
    }

    private IEnumerable<Measurement<long>> ObserveWaiting() =>
        Volatile.Read(ref _waiting) is >= 0 and var value ? [new Measurement<long>(value)] : [];

    private IEnumerable<Measurement<long>> ObserveConsumers() =>
        Volatile.Read(ref _consumers) is >= 0 and var value ? [new Measurement<long>(value)] : [];
}
