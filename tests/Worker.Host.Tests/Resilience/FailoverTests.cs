using Polly.CircuitBreaker;
using Polly.Timeout;
using Worker.Connector;
using Worker.Host.Intake;
using Worker.Host.Resilience;

namespace Worker.Host.Tests.Resilience;

/// <summary>What happens to a job given how its candidate failed, whether that endpoint is down, and whether intake is paused.</summary>
public sealed class FailoverTests
{
    private static ConnectorException Http(int status, ErrorClass errorClass = ErrorClass.Transient) => new(errorClass, $"HTTP {status}") { StatusCode = status };

    private static readonly ConnectorException RuntimeGone = new(ErrorClass.Transient, "runtime socket not listening") { RuntimeUnavailable = true };

    public static TheoryData<string, Exception, bool, string?> FallbackCases => new()
    {
        { "open breaker", new BrokenCircuitException("open"), false, "down: circuit open" },
        { "503", Http(503), false, "overloaded: Transient 503" },
        { "429", Http(429, ErrorClass.RateLimited), false, "overloaded: RateLimited 429" },
        { "deferred admission", new AdmissionDeferredException(TimeSpan.FromSeconds(30), "tokens", pastDeadline: false), false, "admission: tokens" },
        { "deferred past the deadline", new AdmissionDeferredException(TimeSpan.FromMinutes(5), "requests", pastDeadline: true), false, "admission: requests" },
        { "budget spent on 429s", new TimeoutRejectedException(), true, "overloaded: rate limited" },
        { "budget spent otherwise", new TimeoutRejectedException(), false, null },
        { "runtime unreachable", RuntimeGone, false, null },
        { "bad request", Http(400, ErrorClass.InvalidRequest), false, null },
        { "auth", Http(401, ErrorClass.Permanent), false, null },
    };

    [Theory]
    [MemberData(nameof(FallbackCases))]
    public void A_candidate_hands_the_job_on_only_when_it_is_overloaded_down_or_not_admitting(string name, Exception failure, bool rateLimited, string? expected)
    {
        Assert.True(expected == Failover.FallbackReason(failure, rateLimited, firstTokenSeen: false), name);
    }

    [Fact]
    public void Nothing_falls_back_once_a_token_streamed()
    {
        Assert.Null(Failover.FallbackReason(Http(503), rateLimited: false, firstTokenSeen: true));
        Assert.Null(Failover.FallbackReason(new BrokenCircuitException("open"), rateLimited: false, firstTokenSeen: true));
    }

    public static TheoryData<string, Exception, bool, bool, OutageWait> OutageCases => new()
    {
        // The runtime is shared by every endpoint: the worker pauses and the job goes back to the queue.
        { "runtime unreachable", RuntimeGone, false, false, OutageWait.Requeue },
        // Its endpoint's breaker is open, others are up: it waits in a delay queue, intake goes on.
        { "open breaker", new BrokenCircuitException("open"), true, false, OutageWait.Delay },
        { "isolated breaker", new IsolatedCircuitException("isolated"), true, false, OutageWait.Delay },
        { "retryable failure of a down endpoint", Http(503), true, false, OutageWait.Delay },
        // Every endpoint down (intake paused): requeued, as in the single-endpoint worker.
        { "open breaker while paused", new BrokenCircuitException("open"), true, true, OutageWait.Requeue },
        { "retryable failure while paused", Http(500), false, true, OutageWait.Requeue },
        // Not an outage: the job is answered.
        { "retryable failure of an up endpoint", Http(500), false, false, OutageWait.None },
        { "bad request of a down endpoint", Http(400, ErrorClass.InvalidRequest), true, false, OutageWait.None },
        { "bad request while paused", Http(400, ErrorClass.InvalidRequest), true, true, OutageWait.None },
        { "deferred admission", new AdmissionDeferredException(TimeSpan.FromSeconds(5), "tokens", pastDeadline: false), true, false, OutageWait.None },
    };

    [Theory]
    [MemberData(nameof(OutageCases))]
    public void A_job_whose_candidates_are_out_waits_in_the_queue_or_a_delay_queue_and_is_never_failed_for_it(
        string name, Exception failure, bool endpointDown, bool intakePaused, OutageWait expected)
    {
        Assert.True(expected == Failover.Decide(failure, endpointDown, intakePaused), name);
    }
}
