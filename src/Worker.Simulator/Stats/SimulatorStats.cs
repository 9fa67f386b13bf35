namespace Worker.Simulator.Stats;

/// <summary>
/// Live, lock-free counters of one simulator instance (a DI singleton; also <c>SimulatorServer.Stats</c>).
/// </summary>
public sealed class SimulatorStats
{
    private readonly long[] _outcomes = new long[Enum.GetValues<SimulatorOutcome>().Length];
    private long _total;
    private long _clientDisconnects;
    private int _concurrent;
    private int _peak;

    /// <summary>Generation requests received since start or the last reset.</summary>
    public long TotalRequests => Interlocked.Read(ref _total);

    /// <summary>Generation requests in flight now (never reset).</summary>
    public int ConcurrentRequests => Volatile.Read(ref _concurrent);

    /// <summary>Highest <see cref="ConcurrentRequests"/> since start or the last reset.</summary>
    public int PeakConcurrentRequests => Volatile.Read(ref _peak);

    /// <summary>Requests the client abandoned before the answer was complete.</summary>
    public long ClientDisconnects => Interlocked.Read(ref _clientDisconnects);

    /// <summary>Requests answered with <paramref name="outcome"/>.</summary>
    public long Count(SimulatorOutcome outcome) => Interlocked.Read(ref _outcomes[(int)outcome]);

    /// <summary>Copies the counters (each read atomically; the set is not one atomic picture).</summary>
    public SimulatorStatsSnapshot Snapshot() => new(
        TotalRequests,
        new SimulatorOutcomeCounts(
            Count(SimulatorOutcome.Ok),
            Count(SimulatorOutcome.RateLimit),
            Count(SimulatorOutcome.ServerError),
            Count(SimulatorOutcome.Unavailable),
            Count(SimulatorOutcome.Hang),
            Count(SimulatorOutcome.Drop),
            Count(SimulatorOutcome.Malformed),
            Count(SimulatorOutcome.ErrorEvent),
            Count(SimulatorOutcome.BadRequest),
            Count(SimulatorOutcome.Unauthorized)),
        ConcurrentRequests,
        PeakConcurrentRequests,
        ClientDisconnects);

    /// <summary>Zeroes the counters. Requests in flight stay counted as concurrent, and the peak restarts from them.</summary>
    public void Reset()
    {
        Interlocked.Exchange(ref _total, 0);
        Interlocked.Exchange(ref _clientDisconnects, 0);
        for (var i = 0; i < _outcomes.Length; i++)
        {
            Interlocked.Exchange(ref _outcomes[i], 0);
        }

        Interlocked.Exchange(ref _peak, Volatile.Read(ref _concurrent));
    }

    /// <summary>Counts a request in and returns the scope that counts it out.</summary>
    internal InFlightScope BeginRequest()
    {
        Interlocked.Increment(ref _total);
        var now = Interlocked.Increment(ref _concurrent);
        var peak = Volatile.Read(ref _peak);
        while (now > peak)
        {
            var seen = Interlocked.CompareExchange(ref _peak, now, peak);
            if (seen == peak)
            {
                break;
            }

            peak = seen;
        }

        return new InFlightScope(this);
    }

    internal void Record(SimulatorOutcome outcome) => Interlocked.Increment(ref _outcomes[(int)outcome]);

    internal void RecordClientDisconnect() => Interlocked.Increment(ref _clientDisconnects);

    private void EndRequest() => Interlocked.Decrement(ref _concurrent);

    /// <summary>Decrements the in-flight count when disposed.</summary>
    internal readonly struct InFlightScope(SimulatorStats stats) : IDisposable
    {
        public void Dispose() => stats.EndRequest();
    }
}
