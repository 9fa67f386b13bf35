using System.Text.Json;
using Worker.Host.Tests.Integration;
using Worker.Simulator.Options;
using Worker.Testing;

namespace Worker.Chaos.Tests;

/// <summary>Settings inside their documented range must start a worker, not crash it (found while driving the chaos run).</summary>
[Collection(RabbitMqBrokerCollection.Name)]
public sealed class ConfigurationRobustnessTests(RabbitMqBrokerFixture broker)
{
    [Fact]
    public async Task Resilience_MaxRetryAttempts_zero_means_no_retries_rather_than_a_crash_at_start()
    {
        // ResilienceOptions documents [Range(0, 100)] "retries after the first attempt"; Polly's retry needs at least 1.
        var harness = await WorkerHarness.StartAsync(broker,
            new SimulatorOptions { Faults = new FaultOptions { Rate = 1.0, Modes = ["server_error"] } },
            s =>
            {
                s["Resilience:MaxRetryAttempts"] = "0";
                s["Resilience:BreakerMinimumThroughput"] = "100000";
            },
            startWorker: false);
        var start = await Record.ExceptionAsync(harness.StartWorkerAsync);
        try
        {
            Assert.True(start is null, $"the worker did not start: {start}");
            await harness.PublishAsync([JsonSerializer.Serialize(new { id = "no-retries", prompt = "Fail once" })]);

            var result = Assert.Single(await harness.ResultsAsync(1));
            Assert.Equal("failed", result.Status);
            Assert.Equal(1, result.Attempts);
        }
        finally
        {
            try
            {
                await harness.DisposeAsync();
            }
            catch (ArgumentNullException) when (start is not null)
            {
                // WorkerHarness cannot stop a host that failed to start; the start failure is what this test reports.
            }
        }
    }
}
