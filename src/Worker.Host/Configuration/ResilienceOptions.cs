using System.ComponentModel.DataAnnotations;

namespace Worker.Host.Configuration;

/// <summary>Retry, timeouts and the outage breaker around each LLM call. Section <c>Resilience</c>.</summary>
public sealed class ResilienceOptions : IValidatableObject
{
    public const string SectionName = "Resilience";

    /// <summary>Retries after the first attempt, for retryable errors. Default 4.</summary>
    [Range(0, 100)]
    public int MaxRetryAttempts { get; set; } = 4;

    /// <summary>First backoff delay (exponential with jitter). Default 500 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Largest backoff delay. Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Cap on an upstream Retry-After (a server asking for an hour must not park a worker). Default 60 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Timeout of one attempt (sent to the runtime as the deadline). Default 120 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Budget for a whole job, retries included. Default 10 min.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Breaker: failure ratio over the sampling window that opens it. Default 0.5.</summary>
    [Range(0.01, 1.0)]
    public double BreakerFailureRatio { get; set; } = 0.5;

    /// <summary>Breaker: attempts in the window before it may open. Default 8.</summary>
    [Range(2, 100000)]
    public int BreakerMinimumThroughput { get; set; } = 8;

    /// <summary>Breaker: sampling window. Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "01:00:00")]
    public TimeSpan BreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Breaker: how long intake stays paused before a probe. Default 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "01:00:00")]
    public TimeSpan BreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(5);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (TotalTimeout < AttemptTimeout)
        {
            yield return new ValidationResult("Resilience:TotalTimeout must be at least Resilience:AttemptTimeout.", [nameof(TotalTimeout)]);
        }

        if (MaxDelay < BaseDelay)
        {
            yield return new ValidationResult("Resilience:MaxDelay must be at least Resilience:BaseDelay.", [nameof(MaxDelay)]);
        }
    }
}
