using Worker.Testing;
using Xunit.Abstractions;

namespace Worker.Chaos.Tests;

/// <summary>
/// The CI-sized chaos run (scripts/chaos.sh runs the full size): a real worker process SIGKILLed and restarted, the
/// broker container restarted, the external runtime process SIGKILLed and restarted, poison mixed in, 10% upstream
/// faults; then every job must have exactly the right succeeded result, duplicates only when redelivered and marked so.
/// </summary>
[Collection(RabbitMqBrokerCollection.Name)]
public sealed class ChaosRunTests(RabbitMqBrokerFixture broker, ITestOutputHelper output)
{
    [Fact]
    public async Task Ci_sized_chaos_run_loses_nothing_fails_nothing_and_marks_every_duplicate()
    {
        var options = new ChaosOptions
        {
            Jobs = 500,
            Concurrency = 8,
            FaultRate = 0.1,
            WorkerKills = 1,
            BrokerRestarts = 1,
            RuntimeRestarts = 1,
            PoisonMessages = 10,
            Seed = 20240601,
            Deadline = TimeSpan.FromMinutes(2.5),
            Log = output.WriteLine,
        };

        var report = await ChaosRun.RunAsync(broker, options);

        output.WriteLine(report.ToText());
        Assert.True(report.Passed, "chaos run violations:\n" + report.ToText());
        Assert.Equal(options.Jobs, report.SucceededIds);
        Assert.Equal(0, report.FailedResults);
        Assert.Equal(options.PoisonMessages, report.DeadLetteredDistinctPoison);
        Assert.Equal(1, report.WorkerKills);
        Assert.Equal(1, report.BrokerRestarts);
        Assert.Equal(1, report.RuntimeRestarts);
    }
}
