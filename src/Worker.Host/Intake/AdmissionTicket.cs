namespace Worker.Host.Intake;

/// <summary>What admission needs to know about one call: where it goes, what it may cost, and until when it is worth making.</summary>
public readonly record struct AdmissionTicket(string Endpoint, string Model, double EstimatedTokens, DateTimeOffset Deadline);

/// <summary>How one admitted call ended, for the pacer and the concurrency limit.</summary>
public readonly record struct CallReport(
    Worker.Connector.Http.RateLimitSnapshot? RateLimit,
    bool RateLimited,
    bool Overloaded,
    TimeSpan? RetryAfter,
    TimeSpan? Latency,
    bool Sent);
