using Worker.Testing;
using Xunit.Abstractions;

namespace Worker.Chaos.Tests;

/// <summary>
/// The CI-sized cluster run (scripts/chaos.sh --cluster runs the full size): a 3-node RabbitMQ cluster (net_ticktime
/// 5 s, pause_minority: RabbitMqClusterFixture), quorum queues, two real worker processes given all three nodes; the
/// jobs queue's leader killed, then a worker's node killed, then a worker's node paused (a partition without a close).
/// Every job must get exactly one succeeded result (more only when marked redelivered), none may fail, and no worker
/// may stall longer than 10 s.
/// </summary>
public sealed class ClusterFailoverTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Three_node_cluster_survives_leader_kill_and_own_node_kill_without_loss_or_long_stalls()
    {
        await using var cluster = await RabbitMqClusterFixture.StartAsync(output.WriteLine);
        var options = new ClusterRunOptions
        {
            Jobs = 750,
            Concurrency = 4,
            Outage = TimeSpan.FromSeconds(10),
            // With the pause: it was out once after a 17 s stall; what held recoveries up after a pause, and the
            // runs since, are in docs/reliability.md ("Pause recovery").
            Pause = true,
            Log = output.WriteLine,
        };

        var workDirectory = Path.Combine(Path.GetTempPath(), $"worker-cluster-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
        ClusterReport report;
        try
        {
            report = await ClusterRun.RunAsync(cluster, options with { WorkDirectory = workDirectory });
        }
        finally
        {
            // Next to the workers' logs: what the nodes saw (partitions, leader elections) explains a stall.
            await cluster.SaveLogsAsync(workDirectory);
            output.WriteLine($"logs of the workers and the nodes: {workDirectory}");
        }

        output.WriteLine(report.ToText());
        Assert.True(report.Passed, "cluster run violations:\n" + report.ToText());
        Assert.Equal(options.Jobs, report.SucceededIds);
        Assert.Equal(0, report.FailedResults);
        Assert.Equal(0, report.UnmarkedDuplicates);
        Assert.Equal(options.Pause ? 3 : 2, report.Faults.Count);
        Assert.Equal(2, report.LongestStall.Count);
        Assert.All(report.LongestStall.Values, stall => Assert.InRange(stall, TimeSpan.Zero, options.MaxStall));
    }
}
