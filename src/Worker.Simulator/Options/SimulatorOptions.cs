namespace Worker.Simulator.Options;

/// <summary>Settings of the simulator, bound from the <c>Simulator</c> configuration section.</summary>
public sealed class SimulatorOptions
{
    /// <summary>Name of the configuration section the options bind from.</summary>
    public const string SectionName = "Simulator";

    /// <summary>
    /// When set (non-empty), every generation and model request must carry <c>Authorization: Bearer &lt;key&gt;</c>
    /// (Gemini routes also accept <c>x-goog-api-key</c> or <c>?key=</c>).
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>Default latency model; per request the <c>X-Sim-Latency</c> header overrides it.</summary>
    public LatencyOptions Latency { get; set; } = new();

    /// <summary>Random fault injection; per request the <c>X-Sim-Fault</c> header overrides it.</summary>
    public FaultOptions Faults { get; set; } = new();

    /// <summary>Per-API-key rate limits with OpenAI's <c>x-ratelimit-*</c> headers and 429 answers; off by default.</summary>
    public RateLimitOptions RateLimits { get; set; } = new();

    /// <summary>A fixed number of concurrent generations (queue or 503 beyond it), without headers; off by default.</summary>
    public CapacityOptions Capacity { get; set; } = new();

    /// <summary>
    /// Model ids listed by <c>GET /v1/models</c> and served by chat completions (others are 404
    /// <c>model_not_found</c>). Empty means <see cref="DefaultModels"/>.
    /// (Empty by default because configuration binding appends to, rather than replaces, a pre-filled list.)
    /// </summary>
    public IList<string> Models { get; set; } = [];

    /// <summary>Models listed when <see cref="Models"/> is empty.</summary>
    public static IReadOnlyList<string> DefaultModels { get; } =
        ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-4.1", "gpt-3.5-turbo", "gemini-2.0-flash", "simulator"];

    internal IReadOnlyList<string> EffectiveModels => Models.Count == 0 ? DefaultModels : [.. Models];

    internal void CopyTo(SimulatorOptions target)
    {
        target.ApiKey = ApiKey;
        target.Latency = new LatencyOptions
        {
            TimeToFirstTokenMs = Latency.TimeToFirstTokenMs,
            TimePerTokenMs = Latency.TimePerTokenMs,
        };
        target.Faults = new FaultOptions
        {
            Rate = Faults.Rate,
            Seed = Faults.Seed,
            Modes = [.. Faults.Modes],
            RetryAfterSeconds = Faults.RetryAfterSeconds,
        };
        // A null section is copied as null so that the validator reports it by its key.
        target.RateLimits = RateLimits?.Copy()!;
        target.Capacity = Capacity?.Copy()!;
        target.Models = [.. Models];
    }
}
