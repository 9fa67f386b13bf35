using System.Text;
using Worker.Host.Consuming;
using Worker.Host.Tests.Integration;
using Worker.Testing;

namespace Worker.Chaos.Tests;

/// <summary>
/// A message whose handling throws something unexpected must still be settled (dead-lettered or answered): left
/// unacked it holds a prefetch slot for as long as the channel lives, and 2 × C of them stop the worker silently.
/// </summary>
[Collection(RabbitMqBrokerCollection.Name)]
public sealed class ConsumerRobustnessTests(RabbitMqBrokerFixture broker)
{
    [Fact]
    public async Task Messages_the_worker_cannot_handle_are_settled_and_do_not_stall_the_consumer()
    {
        await using var harness = await WorkerHarness.StartAsync(broker, configure: s => s["Worker:Concurrency"] = "1");
        var consumer = harness.Service<RabbitMqJobSource>();

        // Prefetch is 2 × C = 2: three unsettled messages would leave no slot for the valid job behind them.
        await harness.PublishAsync(Enumerable.Range(0, 3).Select(i => $$"""{"id":"surrogate-{{i}}","prompt":"lone \ud800 surrogate"}"""));
        await harness.PublishAsync(["""{"id":"behind-them","prompt":"Am I answered?"}"""]);

        var results = await harness.ResultsWithinAsync(TimeSpan.FromSeconds(10));
        Assert.Contains(results, r => r.Id == "behind-them" && r.Status == "succeeded");
        var dead = await harness.DeadLettersAsync(3, TimeSpan.FromSeconds(5));
        Assert.Equal(3, dead.Count);
        Assert.All(dead, d => Assert.False(string.IsNullOrWhiteSpace(
            d.BasicProperties.Headers?["x-reject-reason"] is byte[] reason ? Encoding.UTF8.GetString(reason) : null)));
        Assert.True(await Eventually.TrueAsync(() => consumer.InFlight == 0, TimeSpan.FromSeconds(5)), $"{consumer.InFlight} job(s) still in flight");
        Assert.Equal(0u, await harness.QueueDepthAsync(harness.JobsQueue));
    }
}
