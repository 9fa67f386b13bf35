namespace Worker.Chaos;

/// <summary>The size and the faults of one chaos run. The defaults are the full size of the issue.</summary>
public sealed record ChaosOptions
{
    /// <summary>Valid jobs published (each must end with a succeeded result).</summary>
    public int Jobs { get; init; } = 10_000;

    /// <summary>Worker:Concurrency (C).</summary>
    public int Concurrency { get; init; } = 32;

    /// <summary>Simulator fault rate over the modes in <see cref="FaultModes"/>.</summary>
    public double FaultRate { get; init; } = 0.1;

    /// <summary>Simulator fault modes: 429 with Retry-After, 500, a dropped stream.</summary>
    public IReadOnlyList<string> FaultModes { get; init; } = ["rate_limit", "server_error", "drop"];

    /// <summary>SIGKILLs of the worker process (each followed by a restart).</summary>
    public int WorkerKills { get; init; } = 3;

    /// <summary>Stops and starts of the broker container.</summary>
    public int BrokerRestarts { get; init; } = 1;

    /// <summary>SIGKILL + restart of the external runtime process; 0 runs the runtime embedded in the worker.</summary>
    public int RuntimeRestarts { get; init; } = 1;

    /// <summary>Poison messages mixed into the jobs; each must be dead-lettered with a reason.</summary>
    public int PoisonMessages { get; init; } = 50;

    /// <summary>Seed of the schedule, the poison and the simulator's faults.</summary>
    public int Seed { get; init; } = Random.Shared.Next();

    /// <summary>Resilience:MaxRetryAttempts for the worker (10% faults, 7 attempts: a job fails with odds 1e-7).</summary>
    public int MaxRetryAttempts { get; init; } = 6;

    /// <summary>Simulator latency: time to first token and per token (ms).</summary>
    public int TimeToFirstTokenMs { get; init; } = 20;

    /// <summary>Simulator latency per token (ms).</summary>
    public int TimePerTokenMs { get; init; } = 1;

    /// <summary>The whole run must finish within this.</summary>
    public TimeSpan Deadline { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Events fire when this fraction of jobs has succeeded, drawn in [min, max].</summary>
    public double EarliestEvent { get; init; } = 0.1;

    /// <summary>Latest progress fraction at which an event may fire.</summary>
    public double LatestEvent { get; init; } = 0.85;

    /// <summary>Where the process logs go; null: a new temp directory.</summary>
    public string? WorkDirectory { get; init; }

    /// <summary>Progress lines (null: none).</summary>
    public Action<string>? Log { get; init; }
}
