using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;
using Worker.Connector;
using Worker.Host.Configuration;

namespace Worker.Host.Resilience;

/// <summary>
/// An endpoint's LLM pipeline (<see cref="PipelineNames.ForEndpoint"/>), outermost first: the job's total budget,
/// retry of failures (exponential backoff with jitter, honouring a capped Retry-After), retry of 429s, and a circuit
/// breaker shared by all jobs sent to that endpoint, which reports the endpoint down when it opens and up when it
/// closes. The attempt timeout is the runtime client's per-request timeout
/// (sent as the deadline and enforced).
/// A 429 is not a failure of the job: it is retried without a count and without a delay of its own, because every
/// attempt first waits for admission (<see cref="Intake.JobAdmission"/>), which has learned from the 429 how long to
/// hold. Only the job's deadline (the total budget) ends that, or admission sending the job to a delay queue.
/// </summary>
public static class LlmPipeline
{
    /// <summary>The time a job has left (its deadline), set on the context: the total timeout is the smaller of it and TotalTimeout.</summary>
    public static readonly ResiliencePropertyKey<TimeSpan> JobBudget = new("worker.job.budget");

    public static ResiliencePipelineBuilder Configure(ResiliencePipelineBuilder builder, ResilienceOptions options, Action<string> reportOutage, Action<OnRetryArguments<object>>? onRetry = null, Action? reportRecovered = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        builder.AddTimeout(new TimeoutStrategyOptions
        {
            TimeoutGenerator = args => ValueTask.FromResult(
                args.Context.Properties.TryGetValue(JobBudget, out var budget) && budget < options.TotalTimeout ? budget : options.TotalTimeout),
        });
        if (options.MaxRetryAttempts > 0)
        {
            // Polly requires at least one retry; 0 means "no retry strategy at all".
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<ConnectorException>(e => e.IsRetryable && e.ErrorClass != ErrorClass.RateLimited),
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.BaseDelay,
                MaxDelay = options.MaxDelay,
                DelayGenerator = args => ValueTask.FromResult(RetryAfterDelay(args.Outcome.Exception, options.MaxRetryAfter)),
                OnRetry = args =>
                {
                    onRetry?.Invoke(args);
                    return ValueTask.CompletedTask;
                },
            });
        }

        builder.AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<ConnectorException>(e => e.ErrorClass == ErrorClass.RateLimited),
            MaxRetryAttempts = int.MaxValue,
            Delay = TimeSpan.Zero,
            BackoffType = DelayBackoffType.Constant,
            OnRetry = args =>
            {
                onRetry?.Invoke(args);
                return ValueTask.CompletedTask;
            },
        });

        return builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions
        {
            // Only outage-shaped failures count: an unreachable runtime, 5xx, timeouts. 429 and 4xx do not.
            ShouldHandle = new PredicateBuilder().Handle<ConnectorException>(e => e.ErrorClass is ErrorClass.Transient or ErrorClass.Timeout),
            FailureRatio = options.BreakerFailureRatio,
            MinimumThroughput = options.BreakerMinimumThroughput,
            SamplingDuration = options.BreakerSamplingDuration,
            BreakDuration = options.BreakerBreakDuration,
            OnOpened = args =>
            {
                reportOutage($"circuit opened for {args.BreakDuration.TotalSeconds:0.#} s: {args.Outcome.Exception?.Message}");
                return ValueTask.CompletedTask;
            },
            OnClosed = _ =>
            {
                reportRecovered?.Invoke();
                return ValueTask.CompletedTask;
            },
        });
    }

    /// <summary>Retry-After from the upstream wins over the backoff, capped; null = use the backoff.</summary>
    public static TimeSpan? RetryAfterDelay(Exception? exception, TimeSpan cap) =>
        exception is ConnectorException { RetryAfter: { } retryAfter } ? (retryAfter < cap ? retryAfter : cap) : null;

    /// <summary>True when the exception means "outage, try later" rather than "this job failed".</summary>
    public static bool IsOutage(Exception exception) =>
        exception is BrokenCircuitException or IsolatedCircuitException || exception is ConnectorException { RuntimeUnavailable: true };

    /// <summary>True when the job's total budget ran out.</summary>
    public static bool IsBudgetExhausted(Exception exception) => exception is TimeoutRejectedException;
}
