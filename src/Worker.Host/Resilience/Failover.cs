using Worker.Connector;
using Worker.Host.Intake;

namespace Worker.Host.Resilience;

/// <summary>How a job waits out an outage: not at all (it is answered), back on the queue, or in a delay queue.</summary>
public enum OutageWait
{
    /// <summary>Not an outage: the failure is the job's answer.</summary>
    None,

    /// <summary>Back to the jobs queue unanswered; intake is paused (the runtime or every endpoint is down), so it is not taken again until a probe succeeds.</summary>
    Requeue,

    /// <summary>Its endpoint is down but others are up: it waits in a delay queue for about one break duration, and jobs for other endpoints go on.</summary>
    Delay,
}

/// <summary>
/// The decisions of a job's chain, without side effects: whether a failed candidate hands the job to the next one,
/// and how a job whose last candidate failed waits out an outage.
/// </summary>
public static class Failover
{
    /// <summary>
    /// Why the next candidate may answer when this one could not (overloaded, down, or not admitting in time); null
    /// when the failure ends the chain: the job's own fault, an unreachable runtime (shared by every endpoint), or
    /// anything once a token has streamed.
    /// </summary>
    public static string? FallbackReason(Exception exception, bool rateLimited, bool firstTokenSeen) => firstTokenSeen ? null : exception switch
    {
        AdmissionDeferredException deferred => $"admission: {deferred.Reason}",
        ConnectorException { RuntimeUnavailable: true } => null,
        ConnectorException { ErrorClass: ErrorClass.Transient or ErrorClass.RateLimited or ErrorClass.Timeout } connector => $"overloaded: {connector.ErrorClass} {connector.StatusCode}",
        _ when LlmPipeline.IsOutage(exception) => "down: circuit open",
        _ when LlmPipeline.IsBudgetExhausted(exception) && rateLimited => "overloaded: rate limited",
        _ => null,
    };

    /// <summary>
    /// How a job waits when its last candidate failed with <paramref name="exception"/>: an unreachable runtime, or
    /// any outage-shaped failure while intake is paused, requeues (today's single-endpoint semantics); an open
    /// breaker, or a retryable failure of an endpoint marked down, delays it so jobs for other endpoints go on.
    /// </summary>
    public static OutageWait Decide(Exception exception, bool endpointDown, bool intakePaused)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception is ConnectorException { RuntimeUnavailable: true })
        {
            return OutageWait.Requeue;
        }

        var retryable = exception is ConnectorException { IsRetryable: true };
        var open = LlmPipeline.IsOutage(exception);
        if (intakePaused && (open || retryable))
        {
            return OutageWait.Requeue;
        }

        return open || (retryable && endpointDown) ? OutageWait.Delay : OutageWait.None;
    }
}
