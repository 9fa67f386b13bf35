using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Worker.Connector;
using Worker.Host.Configuration;
using Worker.Host.Processing;

namespace Worker.Host.Tests.Processing;

public sealed class ResiliencePipelineTests
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

    [Fact]
    public void Retry_after_is_honoured_but_capped()
    {
        var cap = TimeSpan.FromSeconds(60);
        Assert.Equal(TimeSpan.FromSeconds(3), LlmResiliencePipeline.RetryAfterDelay(new ConnectorException(ErrorClass.RateLimited, "x") { RetryAfter = TimeSpan.FromSeconds(3) }, cap));
        Assert.Equal(cap, LlmResiliencePipeline.RetryAfterDelay(new ConnectorException(ErrorClass.RateLimited, "x") { RetryAfter = TimeSpan.FromHours(2) }, cap));
        Assert.Null(LlmResiliencePipeline.RetryAfterDelay(new ConnectorException(ErrorClass.Transient, "x"), cap));
    }

    [Fact]
    public async Task Retryable_errors_are_retried_until_success()
    {
        var pipeline = new LlmResiliencePipeline(Options.Create(FastOptions()), new OutageMonitor());
        var calls = 0;
        var result = await pipeline.ExecuteAsync<int, int>(
            (_, _) => ++calls < 3 ? throw new ConnectorException(ErrorClass.RateLimited, "429") { RetryAfter = TimeSpan.FromMilliseconds(1) } : ValueTask.FromResult(calls),
            0, CancellationToken.None);
        Assert.Equal(3, result);
    }

    [Fact]
    public async Task Permanent_errors_are_not_retried()
    {
        var pipeline = new LlmResiliencePipeline(Options.Create(FastOptions()), new OutageMonitor());
        var calls = 0;
        await Assert.ThrowsAsync<ConnectorException>(async () => await pipeline.ExecuteAsync<int, int>(
            (_, _) => { calls++; throw new ConnectorException(ErrorClass.Permanent, "401"); }, 0, CancellationToken.None));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Breaker_opens_on_an_outage_and_reports_it()
    {
        var outages = new OutageMonitor();
        var options = FastOptions();
        options.MaxRetryAttempts = 6;
        var pipeline = new LlmResiliencePipeline(Options.Create(options), outages);
        var ex = await Assert.ThrowsAnyAsync<Exception>(async () => await pipeline.ExecuteAsync<int, int>(
            (_, _) => throw new ConnectorException(ErrorClass.Transient, "HTTP 503"), 0, CancellationToken.None));
        Assert.IsType<BrokenCircuitException>(ex);
        Assert.True(LlmResiliencePipeline.IsOutage(ex));
        Assert.True(outages.InOutage);
        Assert.Equal(1, outages.OutageCount);
        var reason = await outages.WaitAsync(CancellationToken.None);
        Assert.Contains("circuit opened", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Runtime_unavailable_is_an_outage_not_a_failure()
    {
        Assert.True(LlmResiliencePipeline.IsOutage(new ConnectorException(ErrorClass.Transient, "down") { RuntimeUnavailable = true }));
        Assert.False(LlmResiliencePipeline.IsOutage(new ConnectorException(ErrorClass.Transient, "HTTP 500")));
    }

    [Fact]
    public void Options_validation_names_the_key()
    {
        var validator = new SectionValidator<WorkerOptions>(WorkerOptions.SectionName);
        var result = validator.Validate(null, new WorkerOptions { Concurrency = 0 });
        Assert.True(result.Failed);
        Assert.Contains("Worker:Concurrency", result.FailureMessage, StringComparison.Ordinal);
        var prefetch = validator.Validate(null, new WorkerOptions { Concurrency = 8, Prefetch = 4 });
        Assert.Contains("Worker:Prefetch", prefetch.FailureMessage, StringComparison.Ordinal);
        var rabbit = new SectionValidator<RabbitMqOptions>(RabbitMqOptions.SectionName).Validate(null, new RabbitMqOptions { Uri = "http://user:hunter2@x" });
        Assert.Contains("RabbitMq:Uri", rabbit.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", rabbit.FailureMessage, StringComparison.Ordinal);
    }
}
