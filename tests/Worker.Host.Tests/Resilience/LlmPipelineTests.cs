using Polly;
using Polly.CircuitBreaker;
using Worker.Connector;
using Worker.Host.Configuration;
using Worker.Host.Resilience;

namespace Worker.Host.Tests.Resilience;

public sealed class LlmPipelineTests
{
    private static ResilienceOptions FastOptions() => new()
    {
        MaxRetryAttempts = 3,
        BaseDelay = TimeSpan.FromMilliseconds(1),
        MaxDelay = TimeSpan.FromMilliseconds(5),
        MaxRetryAfter = TimeSpan.FromMilliseconds(20),
        BreakerMinimumThroughput = 4,
        BreakerFailureRatio = 0.5,
        BreakerSamplingDuration = TimeSpan.FromSeconds(30),
        BreakerBreakDuration = TimeSpan.FromSeconds(30),
    };

    private static ResiliencePipeline Build(ResilienceOptions options, Action<string> reportOutage) =>
        LlmPipeline.Configure(new ResiliencePipelineBuilder(), options, reportOutage).Build();

    [Fact]
    public void Retry_after_is_honoured_but_capped()
    {
        var cap = TimeSpan.FromSeconds(60);
        Assert.Equal(TimeSpan.FromSeconds(3), LlmPipeline.RetryAfterDelay(new ConnectorException(ErrorClass.RateLimited, "x") { RetryAfter = TimeSpan.FromSeconds(3) }, cap));
        Assert.Equal(cap, LlmPipeline.RetryAfterDelay(new ConnectorException(ErrorClass.RateLimited, "x") { RetryAfter = TimeSpan.FromHours(2) }, cap));
        Assert.Null(LlmPipeline.RetryAfterDelay(new ConnectorException(ErrorClass.Transient, "x"), cap));
    }

    [Fact]
    public async Task Retryable_errors_are_retried_until_success()
    {
        var pipeline = Build(FastOptions(), _ => { });
        var calls = 0;
        var result = await pipeline.ExecuteAsync<int, int>(
            (_, _) => ++calls < 3 ? throw new ConnectorException(ErrorClass.RateLimited, "429") { RetryAfter = TimeSpan.FromMilliseconds(1) } : ValueTask.FromResult(calls),
            0, CancellationToken.None);
        Assert.Equal(3, result);
    }

    [Fact]
    public async Task Permanent_errors_are_not_retried()
    {
        var pipeline = Build(FastOptions(), _ => { });
        var calls = 0;
        await Assert.ThrowsAsync<ConnectorException>(async () => await pipeline.ExecuteAsync<int, int>(
            (_, _) => { calls++; throw new ConnectorException(ErrorClass.Permanent, "401"); }, 0, CancellationToken.None));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Breaker_opens_on_an_outage_and_reports_it_once()
    {
        var reported = new List<string>();
        var options = FastOptions();
        options.MaxRetryAttempts = 6;
        var pipeline = Build(options, reported.Add);
        var ex = await Assert.ThrowsAnyAsync<Exception>(async () => await pipeline.ExecuteAsync<int, int>(
            (_, _) => throw new ConnectorException(ErrorClass.Transient, "HTTP 503"), 0, CancellationToken.None));
        Assert.IsType<BrokenCircuitException>(ex);
        Assert.True(LlmPipeline.IsOutage(ex));
        var reason = Assert.Single(reported);
        Assert.Contains("circuit opened", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Runtime_unavailable_is_an_outage_not_a_failure()
    {
        Assert.True(LlmPipeline.IsOutage(new ConnectorException(ErrorClass.Transient, "down") { RuntimeUnavailable = true }));
        Assert.False(LlmPipeline.IsOutage(new ConnectorException(ErrorClass.Transient, "HTTP 500")));
    }
}
