using System.Text;
using Worker.Host.Contracts;
using Worker.Testing;

namespace Worker.Host.Tests.Integration;

/// <summary>
/// Cases 1–2 of «Hostile input» on a real broker: a job whose tenant or id would not fit the result's AMQP header or
/// property must cost only itself — dead-lettered with a reason — while every normal job around it gets exactly one
/// result and one upstream call.
/// </summary>
[Collection(RabbitMqBrokerCollection.Name)]
public sealed class HostileJobTests(RabbitMqBrokerFixture broker)
{
    private static string Job(string id, string prompt) => $$"""{"id":"{{id}}","prompt":"{{prompt}}"}""";

    [Fact]
    public async Task A_huge_tenant_and_a_multibyte_id_cost_only_their_own_jobs()
    {
        await using var harness = await WorkerHarness.StartAsync(broker);
        var normal = Enumerable.Range(0, 8).Select(i => $"normal-{i}").ToList();
        var euros = string.Concat(Enumerable.Repeat("€", 86));
        var bodies = new List<string>();
        bodies.AddRange(normal.Take(4).Select(id => Job(id, $"Question {id}")));
        bodies.Add($$"""{"id":"huge-tenant","tenant":"{{new string('t', 200 * 1024)}}","prompt":"p"}""");
        bodies.Add($$"""{"id":"{{euros}}","prompt":"p"}""");
        bodies.AddRange(normal.Skip(4).Select(id => Job(id, $"Question {id}")));
        await harness.PublishAsync(bodies);

        var dead = await harness.DeadLettersAsync(2);
        var reasons = dead.Select(d => Encoding.UTF8.GetString((byte[])d.BasicProperties.Headers!["x-reject-reason"]!)).ToList();
        Assert.Equal(2, reasons.Count(r => r.StartsWith("invalid_field", StringComparison.Ordinal)));
        Assert.Contains(reasons, r => r.Contains("'tenant'", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.Contains("UTF-8 bytes", StringComparison.Ordinal));

        // Eight normal results and the failed Poison result of the huge-tenant job (its id is readable), and nothing more.
        var results = await harness.ResultsAsync(9);
        Assert.Empty(await harness.ResultsWithinAsync(TimeSpan.FromSeconds(2)));
        Assert.Equal(normal.Order(), results.Where(r => r.Status == JobStatus.Succeeded).Select(r => r.Id).Order());
        var rejected = Assert.Single(results, r => r.Status == JobStatus.Failed);
        Assert.Equal(("huge-tenant", "Poison", "default"), (rejected.Id, rejected.Result!.Error!.Class, rejected.Result.Tenant));
        Assert.Equal(8, harness.Simulator.Stats.TotalRequests);
        Assert.Equal(0u, await harness.QueueDepthAsync(harness.JobsQueue));
    }
}
