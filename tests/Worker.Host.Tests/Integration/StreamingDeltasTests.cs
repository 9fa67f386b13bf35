using System.Text;
using Worker.Host.Contracts;
using Worker.Simulator.Generation;
using Worker.Simulator.Options;
using Worker.Testing;

namespace Worker.Host.Tests.Integration;

/// <summary>Live deltas and cancel by id, through a real broker, our runtime and the simulator's latency model.</summary>
[Collection(RabbitMqBrokerCollection.Name)]
public sealed class StreamingDeltasTests(RabbitMqBrokerFixture broker)
{
    private const string Model = "gpt-4o-mini";

    private static string Job(string id, string prompt, int tokens, bool? deltas = null) =>
        $$"""{"id":"{{id}}","prompt":"{{prompt}}","params":{"sim_tokens":{{tokens}}}{{(deltas is { } d ? $",\"deltas\":{(d ? "true" : "false")}" : "")}}}""";

    /// <summary>Everything published for <paramref name="id"/> up to and including its final result.</summary>
    private static async Task<(List<JobDelta> Deltas, WorkerHarness.Delivered Final, List<WorkerHarness.Delivered> All)> UntilFinalAsync(WorkerHarness harness, string id, List<WorkerHarness.Delivered> seen)
    {
        while (true)
        {
            var final = seen.FirstOrDefault(d => d.Result?.Id == id);
            if (final is not null)
            {
                var before = seen.TakeWhile(d => d != final).Where(d => d.Delta?.Id == id).Select(d => d.Delta!).ToList();
                return (before, final, seen);
            }

            seen.AddRange(await harness.ResultsAsync(1, TimeSpan.FromSeconds(60)));
        }
    }

    [Fact]
    public async Task Deltas_arrive_numbered_in_order_before_the_final_result_and_add_up_to_it_and_only_when_asked()
    {
        await using var harness = await WorkerHarness.StartAsync(
            broker,
            new SimulatorOptions { Latency = { TimeToFirstTokenMs = 20, TimePerTokenMs = 5 } },
            s => s["Worker:DeltaInterval"] = "00:00:00.050");
        await harness.PublishAsync([Job("with-deltas", "Tell me a long story", 150, deltas: true), Job("without", "Tell me another story", 150)]);

        var seen = new List<WorkerHarness.Delivered>();
        var (deltas, final, _) = await UntilFinalAsync(harness, "with-deltas", seen);
        var (quiet, other, all) = await UntilFinalAsync(harness, "without", seen);

        Assert.Equal(JobStatus.Succeeded, final.Status);
        Assert.True(deltas.Count >= 2, $"expected several deltas over ~0.8 s of streaming, got {deltas.Count}");
        Assert.Equal(Enumerable.Range(0, deltas.Count), deltas.Select(d => d.Seq));
        Assert.All(deltas, d => Assert.Equal(1, d.Attempt));
        Assert.All(deltas, d => Assert.Equal("default", d.Tenant));
        Assert.Equal(final.Content, string.Concat(deltas.Select(d => d.Content)));
        Assert.All(all.Where(d => d.Delta is not null), d => Assert.Equal(JobDelta.RoutingKey, d.RoutingKey));
        Assert.All(all.Where(d => d.Delta is not null), d => Assert.Equal(d.Delta!.Id, d.CorrelationId));

        // Not asked for (and Worker:Deltas is off): none, not even after its result.
        Assert.Equal(JobStatus.Succeeded, other.Status);
        Assert.Empty(quiet);
        Assert.DoesNotContain(all.Concat(await harness.ResultsWithinAsync(TimeSpan.FromMilliseconds(300))), d => d.Delta?.Id == "without");
    }

    [Fact]
    public async Task Cancelling_a_running_job_stops_the_upstream_and_answers_cancelled_with_a_prefix_of_the_answer()
    {
        await using var harness = await WorkerHarness.StartAsync(
            broker,
            new SimulatorOptions { Latency = { TimeToFirstTokenMs = 20, TimePerTokenMs = 20 } },
            s => s["Worker:DeltaInterval"] = "00:00:00.050");
        const string prompt = "Write a very slow answer";
        await harness.PublishAsync([Job("slow-1", prompt, 200, deltas: true)]);

        // Running: its first delta has arrived.
        var seen = new List<WorkerHarness.Delivered>();
        while (!seen.Any(d => d.Delta?.Id == "slow-1"))
        {
            seen.AddRange(await harness.ResultsAsync(1, TimeSpan.FromSeconds(30)));
        }

        await harness.PublishCancelAsync("slow-1");
        var (deltas, final, _) = await UntilFinalAsync(harness, "slow-1", seen);

        Assert.Equal(JobStatus.Cancelled, final.Status);
        Assert.Equal("completion.cancelled", final.RoutingKey);
        Assert.Equal("slow-1", final.CorrelationId);
        var full = AnswerGenerator.Generate(Model, prompt, tokenCount: 200);
        Assert.False(string.IsNullOrEmpty(final.Content));
        Assert.StartsWith(final.Content!, full, StringComparison.Ordinal);
        Assert.True(final.Content!.Length < full.Length, "the answer was cut short");
        // The deltas sent before the end add up to the partial text too.
        Assert.Equal(final.Content, string.Concat(deltas.Select(d => d.Content)));
        Assert.True(await Eventually.TrueAsync(() => harness.Simulator.Stats.ClientDisconnects >= 1, TimeSpan.FromSeconds(10)), "the simulator saw the request end early");
        Assert.Equal(1, harness.Simulator.Stats.TotalRequests);
    }

    [Fact]
    public async Task A_job_cancelled_before_it_arrives_is_answered_cancelled_without_a_call_and_malformed_cancels_do_no_harm()
    {
        await using var harness = await WorkerHarness.StartAsync(broker);
        // Malformed control input first: dropped with a log line, the consumer keeps listening.
        await harness.PublishControlRawAsync(Encoding.UTF8.GetBytes("not json"));
        await harness.PublishControlRawAsync(Encoding.UTF8.GetBytes("{}"));
        await harness.PublishControlRawAsync(Encoding.UTF8.GetBytes("""{"id":123}"""));
        await harness.PublishControlRawAsync(Encoding.UTF8.GetBytes("""{"id":"\u0001bad"}"""));
        await harness.PublishControlRawAsync(Encoding.UTF8.GetBytes($$"""{"id":"{{new string('x', 300)}}"}"""));
        await harness.PublishControlRawAsync(new byte[64 * 1024]);
        await harness.PublishCancelAsync("queued-1");
        // The cancel has to reach the worker before the job does: its ledger remembers it.
        Assert.True(await Eventually.TrueAsync(() => harness.Service<Worker.Host.Cancelling.CancelLedger>().Remembered == 1, TimeSpan.FromSeconds(10)));

        await harness.PublishAsync([Job("queued-1", "Never asked", 10), Job("fine-1", "Still answered", 10)]);
        var results = await harness.ResultsAsync(2);

        var cancelled = Assert.Single(results, r => r.Id == "queued-1");
        Assert.Equal(JobStatus.Cancelled, cancelled.Status);
        Assert.Equal("completion.cancelled", cancelled.RoutingKey);
        Assert.Null(cancelled.Content);
        Assert.Equal(JobStatus.Succeeded, Assert.Single(results, r => r.Id == "fine-1").Status);
        Assert.Equal(1, harness.Simulator.Stats.TotalRequests);
        Assert.True(harness.Service<Worker.Host.Consuming.CancelConsumer>().IsListening);
    }

    [Fact]
    public async Task A_control_queue_deleted_under_a_running_worker_is_declared_again_and_cancels_are_heard_again()
    {
        await using var harness = await WorkerHarness.StartAsync(broker);
        var consumer = harness.Service<Worker.Host.Consuming.CancelConsumer>();
        Assert.True(await Eventually.TrueAsync(() => consumer.IsListening, TimeSpan.FromSeconds(10)));
        var before = consumer.QueueName;

        // What a healed partition did on RabbitMQ 3.10 (a node back from a pause deleted the queue while the
        // worker's connection stayed up), done here by hand: the queue is deleted under the worker.
        await broker.ExecAsync(["rabbitmqctl", "-q", "delete_queue", before]);
        Assert.True(await Eventually.TrueAsync(() => consumer.QueueName != before, TimeSpan.FromSeconds(20)), "the worker declared a new control queue");

        await harness.PublishCancelAsync("after-delete-1");
        Assert.True(await Eventually.TrueAsync(() => harness.Service<Worker.Host.Cancelling.CancelLedger>().Remembered == 1, TimeSpan.FromSeconds(10)),
            "a cancel published after the delete was heard");
        Assert.True(consumer.IsListening);
    }
}
