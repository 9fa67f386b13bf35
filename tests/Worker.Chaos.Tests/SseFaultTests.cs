using System.Text.Json;
using Worker.Host.Consuming;
using Worker.Host.Tests.Integration;
using Worker.Simulator.Generation;
using Worker.Simulator.Options;
using Worker.Testing;

namespace Worker.Chaos.Tests;

/// <summary>
/// Malformed, dropped, error-event and hanging upstream answers (streaming and not) end in a retried job or a failed
/// result within the job's deadline: never a crash, a hang past the deadline, a leaked upstream request, or a
/// "succeeded" result carrying a broken answer.
/// </summary>
[Collection(RabbitMqBrokerCollection.Name)]
public sealed class SseFaultTests(RabbitMqBrokerFixture broker)
{
    private static readonly TimeSpan TotalTimeout = TimeSpan.FromSeconds(8);

    [Theory]
    [InlineData("malformed")]
    [InlineData("drop")]
    [InlineData("error_event")]
    [InlineData("hang")]
    public async Task Every_attempt_faulty_fails_the_job_after_its_retries_within_the_deadline(string mode)
    {
        await using var harness = await StartAsync(mode, rate: 1.0);
        var jobs = Jobs(mode, 4);
        await harness.PublishAsync(jobs.Select(j => j.Body));

        var results = await harness.ResultsAsync(jobs.Count, TotalTimeout * 2 + TimeSpan.FromSeconds(10));

        Assert.All(results, r =>
        {
            Assert.Equal("failed", r.Status);
            var error = r.Json.GetProperty("error");
            Assert.Equal(mode == "hang" ? "Timeout" : "Transient", error.GetProperty("class").GetString());
            Assert.True(error.GetProperty("retryable").GetBoolean());
            Assert.Equal(3, r.Attempts);
            Assert.InRange(r.Json.GetProperty("duration_ms").GetInt64(), 0, (long)TotalTimeout.TotalMilliseconds + 1000);
        });
        await AssertHealthyAndIdleAsync(harness);
    }

    [Theory]
    [InlineData("malformed")]
    [InlineData("drop")]
    [InlineData("error_event")]
    [InlineData("hang")]
    public async Task Half_the_attempts_faulty_every_job_is_answered_and_each_success_carries_the_exact_answer(string mode)
    {
        await using var harness = await StartAsync(mode, rate: 0.5);
        var jobs = Jobs(mode, 20);
        await harness.PublishAsync(jobs.Select(j => j.Body));

        var results = await harness.ResultsAsync(jobs.Count, TotalTimeout * 3 + TimeSpan.FromSeconds(10));

        Assert.Equal(jobs.Select(j => j.Id).Order(), results.Select(r => r.Id).Order());
        foreach (var result in results.Where(r => r.Status == "succeeded"))
        {
            var prompt = jobs.Single(j => j.Id == result.Id).Prompt;
            Assert.Equal(AnswerGenerator.Generate("gpt-4o-mini", prompt), result.Content);
        }

        Assert.Contains(results, r => r.Status == "succeeded" && r.Attempts > 1);
        Assert.All(results, r => Assert.InRange(r.Json.GetProperty("duration_ms").GetInt64(), 0, (long)TotalTimeout.TotalMilliseconds + 1000));
        await AssertHealthyAndIdleAsync(harness);
    }

    private Task<WorkerHarness> StartAsync(string mode, double rate) =>
        WorkerHarness.StartAsync(broker, new SimulatorOptions
        {
            Faults = new FaultOptions { Rate = rate, Seed = 11, Modes = [mode] },
            Latency = new LatencyOptions { TimePerTokenMs = 1 },
        }, s =>
        {
            s["Resilience:AttemptTimeout"] = "00:00:01";
            s["Resilience:MaxRetryAttempts"] = "2";
            s["Resilience:TotalTimeout"] = TotalTimeout.ToString();

            // These tests look at one job's handling of a broken answer; the breaker (a 100%-faulty upstream is an
            // outage: intake pauses, nothing fails) is covered by the host's outage tests.
            s["Resilience:BreakerMinimumThroughput"] = "100000";
        });

    private static List<(string Id, string Prompt, string Body)> Jobs(string mode, int count) =>
        [.. Enumerable.Range(0, count).Select(i =>
        {
            var id = $"{mode}-{i}";
            var prompt = $"SSE fault {mode} {i}";
            return (id, prompt, JsonSerializer.Serialize(new { id, prompt, stream = i % 2 == 0 }));
        })];

    private static async Task AssertHealthyAndIdleAsync(WorkerHarness harness)
    {
        // The runtime cancelled every upstream request (a hang included) and the consumer is still running.
        Assert.True(await Eventually.TrueAsync(() => harness.Simulator.Stats.ConcurrentRequests == 0, TimeSpan.FromSeconds(5)),
            $"{harness.Simulator.Stats.ConcurrentRequests} upstream request(s) still open");
        // A result is visible before its job is acked and counted out: give the handler a moment to finish.
        var consumer = harness.Service<RabbitMqJobSource>();
        Assert.True(await Eventually.TrueAsync(() => consumer.InFlight == 0, TimeSpan.FromSeconds(5)), $"{consumer.InFlight} job(s) still in flight");
        Assert.False(consumer.ExecuteTask?.IsCompleted ?? true, "the consumer loop ended");
        Assert.Empty(await harness.DeadLettersAsync(1, TimeSpan.FromMilliseconds(200)));
    }
}
