using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Worker.Host.Telemetry;

/// <summary>
/// <c>worker.jobs.oldest_age</c> (seconds): how long ago the oldest job this worker holds now (received and not yet
/// settled) was enqueued, from the message's AMQP <c>timestamp</c> property (whole seconds, set by the producer; the
/// <c>enqueue</c> command sets it). Jobs without a timestamp are not counted; no sample while the worker holds none.
/// It is not the age of the oldest job still waiting in the queue: AMQP tells that only by fetching the message (which
/// marks it redelivered), and the worker does not use the management API. What it does show: a value that keeps
/// growing while the queue is deep means jobs wait long before a worker gets to them (add workers), and one that
/// grows while the queue is short means jobs take long once taken (retries, a slow endpoint). Costs a dictionary
/// entry per held job; the minimum is computed only when the gauge is read (a scrape or an export).
/// </summary>
public sealed class JobAgeTelemetry
{
    private readonly ConcurrentDictionary<long, long> _held = new();
    private readonly TimeProvider _time;
    private long _next;

    public JobAgeTelemetry(IMeterFactory meterFactory, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        meterFactory.Create(WorkerTelemetry.SourceName).CreateObservableGauge(
            "worker.jobs.oldest_age", Observe, "s", "Age of the oldest job this worker holds (received, not yet settled), from its AMQP timestamp.");
    }

    /// <summary>Seconds since the oldest held job was enqueued, or null when no held job has a timestamp.</summary>
    public double? OldestAgeSeconds
    {
        get
        {
            if (_held.IsEmpty)
            {
                return null;
            }

            var oldest = long.MaxValue;
            foreach (var (_, enqueued) in _held)
            {
                oldest = Math.Min(oldest, enqueued);
            }

            return oldest == long.MaxValue ? null : Math.Max(0, _time.GetUtcNow().ToUnixTimeMilliseconds() - oldest) / 1000.0;
        }
    }

    /// <summary>
    /// Counts a job from its receipt until the returned handle is disposed (after settling). A job without an
    /// enqueue time (<paramref name="enqueuedAt"/> null) is not counted.
    /// </summary>
    public Held Hold(DateTimeOffset? enqueuedAt)
    {
        if (enqueuedAt is not { } at)
        {
            return default;
        }

        var id = Interlocked.Increment(ref _next);
        _held[id] = at.ToUnixTimeMilliseconds();
        return new Held(this, id);
    }

    private IEnumerable<Measurement<double>> Observe() =>
        OldestAgeSeconds is { } age ? [new Measurement<double>(age)] : [];

    /// <summary>A held job; disposing it (once) stops counting it.</summary>
    public readonly struct Held : IDisposable, IEquatable<Held>
    {
        private readonly JobAgeTelemetry? _owner;
        private readonly long _id;

        internal Held(JobAgeTelemetry owner, long id) => (_owner, _id) = (owner, id);

        public void Dispose() => _owner?._held.TryRemove(_id, out _);

        public bool Equals(Held other) => ReferenceEquals(_owner, other._owner) && _id == other._id;

        public override bool Equals(object? obj) => obj is Held other && Equals(other);

        public override int GetHashCode() => HashCode.Combine(_owner, _id);

        public static bool operator ==(Held left, Held right) => left.Equals(right);

        public static bool operator !=(Held left, Held right) => !left.Equals(right);
    }
}
