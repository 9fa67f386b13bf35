namespace Worker.Simulator.Stats;

/// <summary>Counters at one moment, the body of <c>GET /stats</c> (snake_case JSON).</summary>
/// <param name="TotalRequests">Generation requests received (chat completions, Gemini, /generate).</param>
/// <param name="Outcomes">Requests by outcome.</param>
/// <param name="ConcurrentRequests">Generation requests in flight now.</param>
/// <param name="PeakConcurrentRequests">Highest number in flight since start or the last reset.</param>
/// <param name="ClientDisconnects">Requests the client abandoned before the answer was complete.</param>
public sealed record SimulatorStatsSnapshot(
    long TotalRequests,
    SimulatorOutcomeCounts Outcomes,
    int ConcurrentRequests,
    int PeakConcurrentRequests,
    long ClientDisconnects);

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
