using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;
using Polly.Timeout;
using Worker.Connector;
using Worker.Host.Configuration;

namespace Worker.Host.Processing;

/// <summary>
/// The Polly v8 pipeline around each LLM call, outermost first: the job's total budget, retry (exponential backoff
/// with jitter, honouring a capped Retry-After), and a circuit breaker shared by all jobs that reports an outage when
/// it opens. The attempt timeout is the runtime client's per-request timeout (sent as the deadline and enforced).
/// </summary>
public sealed class LlmResiliencePipeline
{
    private readonly ResiliencePipeline _pipeline;

    public LlmResiliencePipeline(IOptions<ResilienceOptions> options, OutageMonitor outages, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Value;
        var builder = new ResiliencePipelineBuilder();
        if (timeProvider is not null)
        {
            builder.TimeProvider = timeProvider;
        }

        builder.AddTimeout(o.TotalTimeout);
        if (o.MaxRetryAttempts > 0)
        {
            // Polly requires at least one retry; 0 means "no retry strategy at all".
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<ConnectorException>(e => e.IsRetryable),
                MaxRetryAttempts = o.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = o.BaseDelay,
                MaxDelay = o.MaxDelay,
                DelayGenerator = args => ValueTask.FromResult(RetryAfterDelay(args.Outcome.Exception, o.MaxRetryAfter)),
            });
        }

        _pipeline = builder
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                // Only outage-shaped failures count: an unreachable runtime, 5xx, timeouts. 429 and 4xx do not.
                ShouldHandle = new PredicateBuilder().Handle<ConnectorException>(e => e.ErrorClass is ErrorClass.Transient or ErrorClass.Timeout),
                FailureRatio = o.BreakerFailureRatio,
                MinimumThroughput = o.BreakerMinimumThroughput,
                SamplingDuration = o.BreakerSamplingDuration,
                BreakDuration = o.BreakerBreakDuration,
                OnOpened = args =>
                {
                    outages.Report($"circuit opened for {args.BreakDuration.TotalSeconds:0.#} s: {args.Outcome.Exception?.Message}");
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>Runs <paramref name="callback"/> through the pipeline; <paramref name="state"/> counts attempts.</summary>
    public ValueTask<TResult> ExecuteAsync<TResult, TState>(Func<TState, CancellationToken, ValueTask<TResult>> callback, TState state, CancellationToken cancellationToken) =>
        _pipeline.ExecuteAsync(callback, state, cancellationToken);

    /// <summary>Retry-After from the upstream wins over the backoff, capped; null = use the backoff.</summary>
    internal static TimeSpan? RetryAfterDelay(Exception? exception, TimeSpan cap) =>
        exception is ConnectorException { RetryAfter: { } retryAfter } ? (retryAfter < cap ? retryAfter : cap) : null;

    /// <summary>True when the exception means "outage, try later" rather than "this job failed".</summary>
    public static bool IsOutage(Exception exception) =>
        exception is BrokenCircuitException or IsolatedCircuitException || exception is ConnectorException { RuntimeUnavailable: true };

    /// <summary>True when the total budget ran out.</summary>
    public static bool IsBudgetExhausted(Exception exception) => exception is TimeoutRejectedException;
}
