namespace Worker.Simulator.Stats;

/// <summary>Counters at one moment, the body of <c>GET /stats</c> (snake_case JSON).</summary>
/// <param name="TotalRequests">Generation requests received (chat completions, Gemini, /generate).</param>
/// <param name="Outcomes">Requests by outcome.</param>
/// <param name="ConcurrentRequests">Generation requests in flight now (waiting for a capacity slot included).</param>
/// <param name="PeakConcurrentRequests">Highest number in flight since start or the last reset.</param>
/// <param name="ClientDisconnects">Requests the client abandoned before the answer was complete.</param>
/// <param name="RateLimits">Rate limit counters (<c>Simulator:RateLimits</c>).</param>
/// <param name="Capacity">Generation slots (<c>Simulator:Capacity</c>).</param>
public sealed record SimulatorStatsSnapshot(
    long TotalRequests,
    SimulatorOutcomeCounts Outcomes,
    int ConcurrentRequests,
    int PeakConcurrentRequests,
    long ClientDisconnects,
    SimulatorRateLimitCounts RateLimits,
    SimulatorCapacityCounts Capacity);

/// <summary>Requests by <see cref="SimulatorOutcome"/>.</summary>
public sealed record SimulatorOutcomeCounts(
    long Ok,
    long RateLimit,
    long ServerError,
    long Unavailable,
    long Hang,
    long Drop,
    long Malformed,
    long ErrorEvent,
    long BadRequest,
    long Unauthorized);

/// <summary>Rate limit counters; refusals are also counted in <see cref="SimulatorOutcomeCounts.RateLimit"/>.</summary>
/// <param name="RequestsLimited">429s of the requests-per-minute limit (<c>"type": "requests"</c>).</param>
/// <param name="TokensLimited">429s of the tokens-per-minute limit (<c>"type": "tokens"</c>).</param>
/// <param name="TokensCharged">Estimated tokens charged by admitted requests (0 without a token limit).</param>
public sealed record SimulatorRateLimitCounts(long RequestsLimited, long TokensLimited, long TokensCharged);

/// <summary>Generation slots; refusals are also counted in <see cref="SimulatorOutcomeCounts.Unavailable"/>.</summary>
/// <param name="ActiveGenerations">Generations running now (counted with or without a capacity limit).</param>
/// <param name="PeakActiveGenerations">Highest number running at once since start or the last reset.</param>
/// <param name="QueuedGenerations">Requests waiting for a slot now.</param>
/// <param name="Rejected">503s because every slot was busy (overflow Reject).</param>
public sealed record SimulatorCapacityCounts(int ActiveGenerations, int PeakActiveGenerations, int QueuedGenerations, long Rejected);
