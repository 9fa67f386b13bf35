using Worker.Simulator.Limits;

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
    private long _requestsLimited;
    private long _tokensLimited;
    private long _tokensCharged;
    private int _activeGenerations;
    private int _peakActiveGenerations;
    private int _queuedGenerations;
    private long _capacityRejected;

    /// <summary>Generation requests received since start or the last reset.</summary>
    public long TotalRequests => Interlocked.Read(ref _total);

    /// <summary>Generation requests in flight now, those waiting for a capacity slot included (never reset).</summary>
    public int ConcurrentRequests => Volatile.Read(ref _concurrent);

    /// <summary>Highest <see cref="ConcurrentRequests"/> since start or the last reset.</summary>
    public int PeakConcurrentRequests => Volatile.Read(ref _peak);

    /// <summary>Requests the client abandoned before the answer was complete.</summary>
    public long ClientDisconnects => Interlocked.Read(ref _clientDisconnects);

    /// <summary>Requests refused 429 by the requests-per-minute limit (<c>Simulator:RateLimits</c>; not injected faults).</summary>
    public long RequestsLimited => Interlocked.Read(ref _requestsLimited);

    /// <summary>Requests refused 429 by the tokens-per-minute limit (including "Request too large").</summary>
    public long TokensLimited => Interlocked.Read(ref _tokensLimited);

    /// <summary>Estimated tokens charged to the token buckets by admitted requests (0 without a token limit).</summary>
    public long TokensCharged => Interlocked.Read(ref _tokensCharged);

    /// <summary>Generations running now: past admission, holding a capacity slot until their last byte (never reset).</summary>
    public int ActiveGenerations => Volatile.Read(ref _activeGenerations);

    /// <summary>Highest <see cref="ActiveGenerations"/> since start or the last reset; never above <c>Capacity:MaxConcurrent</c>.</summary>
    public int PeakActiveGenerations => Volatile.Read(ref _peakActiveGenerations);

    /// <summary>Generations waiting for a capacity slot now (<c>Capacity:Overflow = Queue</c>; never reset).</summary>
    public int QueuedGenerations => Volatile.Read(ref _queuedGenerations);

    /// <summary>Requests refused 503 because every capacity slot was busy (<c>Capacity:Overflow = Reject</c>).</summary>
    public long CapacityRejected => Interlocked.Read(ref _capacityRejected);

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
        ClientDisconnects,
        new SimulatorRateLimitCounts(RequestsLimited, TokensLimited, TokensCharged),
        new SimulatorCapacityCounts(ActiveGenerations, PeakActiveGenerations, QueuedGenerations, CapacityRejected));

    /// <summary>
    /// Zeroes the counters. Requests in flight stay counted as concurrent (generations as active, waiters as queued),
    /// and the peaks restart from them.
    /// </summary>
    public void Reset()
    {
        Interlocked.Exchange(ref _total, 0);
        Interlocked.Exchange(ref _clientDisconnects, 0);
        Interlocked.Exchange(ref _requestsLimited, 0);
        Interlocked.Exchange(ref _tokensLimited, 0);
        Interlocked.Exchange(ref _tokensCharged, 0);
        Interlocked.Exchange(ref _capacityRejected, 0);
        Interlocked.Exchange(ref _peakActiveGenerations, Volatile.Read(ref _activeGenerations));
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
        RaisePeak(ref _peak, Interlocked.Increment(ref _concurrent));
        return new InFlightScope(this);
    }

    internal void GenerationStarted() => RaisePeak(ref _peakActiveGenerations, Interlocked.Increment(ref _activeGenerations));

    internal void GenerationEnded() => Interlocked.Decrement(ref _activeGenerations);

    internal void QueuedChanged(int delta) => Interlocked.Add(ref _queuedGenerations, delta);

    internal void RecordCapacityRejected() => Interlocked.Increment(ref _capacityRejected);

    internal void RecordRateLimited(RateLimitType type) =>
        Interlocked.Increment(ref type == RateLimitType.Tokens ? ref _tokensLimited : ref _requestsLimited);

    internal void RecordTokensCharged(long tokens) => Interlocked.Add(ref _tokensCharged, tokens);

    internal void Record(SimulatorOutcome outcome) => Interlocked.Increment(ref _outcomes[(int)outcome]);

    internal void RecordClientDisconnect() => Interlocked.Increment(ref _clientDisconnects);

    private void EndRequest() => Interlocked.Decrement(ref _concurrent);

    private static void RaisePeak(ref int peak, int now)
    {
        var seen = Volatile.Read(ref peak);
        while (now > seen)
        {
            var previous = Interlocked.CompareExchange(ref peak, now, seen);
            if (previous == seen)
            {
                break;
            }

            seen = previous;
        }
    }

    /// <summary>Decrements the in-flight count when disposed.</summary>
    internal readonly struct InFlightScope(SimulatorStats stats) : IDisposable
    {
        public void Dispose() => stats.EndRequest();
    }
}
