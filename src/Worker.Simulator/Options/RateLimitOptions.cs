namespace Worker.Simulator.Options;

/// <summary>
/// Per-API-key rate limits (<c>Simulator:RateLimits</c>), modelled on the hosted APIs: continuously refilled token
/// buckets for requests and for tokens, charged when a request arrives. Off by default (both limits 0).
/// </summary>
public sealed class RateLimitOptions
{
    /// <summary>Requests per minute per key (RPM); 0 = no request limit.</summary>
    public int RequestsPerMinute { get; set; }

    /// <summary>Tokens per minute per key (TPM); 0 = no token limit.</summary>
    public int TokensPerMinute { get; set; }

    /// <summary>
    /// Bucket capacity in seconds of refill: a bucket holds <c>limit × BurstSeconds / 60</c>. The default, 60, lets a
    /// full minute's worth go at once as the hosted APIs do; tests use 1–2 s. Must be &gt; 0.
    /// </summary>
    public double BurstSeconds { get; set; } = 60;

    /// <summary>
    /// Output tokens charged for a request that gives no <c>max_tokens</c> / <c>max_completion_tokens</c>
    /// (<c>maxOutputTokens</c> for Gemini). Default 0: like OpenAI, such a request is charged its prompt estimate only.
    /// </summary>
    public int DefaultMaxTokens { get; set; }

    /// <summary>
    /// Probability, 0..1, that a 429 carries <c>retry-after</c> and <c>retry-after-ms</c> (default 1). Real servers
    /// do not always send them, so clients must also cope with their absence.
    /// </summary>
    public double RetryAfterProbability { get; set; } = 1.0;

    /// <summary>Seed of the retry-after draw; the same seed and order of 429s give the same headers. Null: random.</summary>
    public int? Seed { get; set; }

    internal bool Enabled => RequestsPerMinute > 0 || TokensPerMinute > 0;

    internal RateLimitOptions Copy() => new()
    {
        RequestsPerMinute = RequestsPerMinute,
        TokensPerMinute = TokensPerMinute,
        BurstSeconds = BurstSeconds,
        DefaultMaxTokens = DefaultMaxTokens,
        RetryAfterProbability = RetryAfterProbability,
        Seed = Seed,
    };
}
