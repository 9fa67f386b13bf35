using System.Text;
using Worker.Host.Contracts;
using Worker.Simulator;
using Worker.Testing;
using Xunit.Abstractions;

namespace Worker.Chaos.Tests;

/// <summary>
/// 10,000 generated hostile job messages (invalid JSON and UTF-8, huge strings, deep nesting, wrong types, unknown
/// fields, missing and duplicate ids, bodies up to 10 MB) against a real worker process: it stays up, its memory stays
/// bounded, and every message is dead-lettered with a reason or answered as the contract says.
/// </summary>
[Collection(RabbitMqBrokerCollection.Name)]
public sealed class HostileInputTests(RabbitMqBrokerFixture broker, ITestOutputHelper output)
{
    private const int CorpusSize = 10_000;
    private const long RssBoundBytes = 1024L * 1024 * 1024;

    [Fact]
    public async Task Ten_thousand_hostile_messages_are_each_dead_lettered_or_answered_and_the_worker_stays_up_in_bounded_memory()
    {
        var corpus = HostileCorpus.Generate(CorpusSize, seed: 7);
        await using var simulator = await SimulatorServer.StartAsync();
        var setup = new WorkerSetup(broker.AmqpUri, broker.UniqueName("hostile"), simulator.BaseAddress,
            Path.Combine(Path.GetTempPath(), $"worker-hostile-{Guid.NewGuid():N}"))
        {
            Concurrency = 16,
        };
        await using (var connection = await broker.CreateConnectionFactory("hostile-topology").CreateConnectionAsync())
        {
            await setup.DeclareTopologyAsync(connection);
        }

        await using var collector = await ResultCollector.StartAsync(broker.CreateConnectionFactory("hostile-collector"), setup.ResultsQueue, setup.DeadLetterQueue);
        await using var worker = setup.StartWorker(1);
        using var sampling = new CancellationTokenSource();
        var sampler = SampleAsync(worker, sampling.Token);
        var started = DateTime.UtcNow;
        await ChaosRun.PublishAsync(broker, setup.JobsQueue, corpus.Select(c => (c.CaseId, c.Body)), CancellationToken.None);
        output.WriteLine($"published {corpus.Count} messages ({corpus.Sum(c => (long)c.Body.Length) / (1024 * 1024)} MiB) in {(DateTime.UtcNow - started).TotalSeconds:0.0} s");

        // Done when the queue is empty and nothing new arrived for a while, or when nothing moved for long: a message
        // stuck unacked in the worker then shows up as unaccounted.
        var lastCount = -1;
        var quietSince = DateTime.UtcNow;
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        uint depth = 0;
        while (DateTime.UtcNow < deadline && !worker.HasExited)
        {
            var count = collector.Results().Count + collector.DeadLetters().Count;
            if (count != lastCount)
            {
                lastCount = count;
                quietSince = DateTime.UtcNow;
            }
            else if (DateTime.UtcNow - quietSince > TimeSpan.FromSeconds(5) && (depth = await collector.QueueDepthAsync(setup.JobsQueue)) == 0)
            {
                break;
            }
            else if (DateTime.UtcNow - quietSince > TimeSpan.FromSeconds(20))
            {
                break;
            }

            await Task.Delay(250);
        }

        output.WriteLine($"settled after {(DateTime.UtcNow - started).TotalSeconds:0.0} s: {collector.Results().Count} results, {collector.DeadLetters().Count} dead letters, " +
            $"{depth} left in the queue; worker peak RSS {worker.PeakRssBytes / (1024 * 1024)} MiB");
        Assert.False(worker.HasExited, $"the worker exited (code {worker.ExitCode}):\n{worker.Tail()}");

        // Still serving after the corpus?
        await ChaosRun.PublishAsync(broker, setup.JobsQueue, [("after", Encoding.UTF8.GetBytes(HostileCorpus.Valid("after-the-corpus", "still there?")))], CancellationToken.None);
        var stillServing = await Eventually.TrueAsync(() => collector.HasSucceeded("after-the-corpus"), TimeSpan.FromSeconds(depth == 0 ? 30 : 5));
        await sampling.CancelAsync();
        await sampler;

        var problems = Account(corpus, collector.Results(), collector.DeadLetters());
        if (collector.UnreadableResults > 0)
        {
            problems.Insert(0, $"{collector.UnreadableResults} result message(s) are not valid UTF-8 JSON, e.g. {string.Join(" | ", collector.UnreadableExamples().Take(3))}");
        }

        if (depth > 0)
        {
            problems.Insert(0, $"the worker stopped taking messages with {depth} still in the queue (messages it neither acked nor rejected hold its prefetch)");
        }

        if (!stillServing)
        {
            problems.Insert(0, "a valid job published after the corpus was not answered: the worker no longer serves");
        }
        foreach (var line in problems.Take(40))
        {
            output.WriteLine(line);
        }

        output.WriteLine($"worker peak RSS {worker.PeakRssBytes / (1024 * 1024)} MiB (bound {RssBoundBytes / (1024 * 1024)} MiB)");
        Assert.True(problems.Count == 0, $"{problems.Count} problem(s):\n{string.Join("\n", problems.Take(20))}");
        Assert.InRange(worker.PeakRssBytes, 1, RssBoundBytes);
        await collector.DeleteAsync(setup.Queues, setup.Exchanges);
    }

    /// <summary>Every case accounted for as the contract says; returns what is not.</summary>
    private static List<string> Account(List<HostileCase> corpus, List<ObservedResult> results, List<ObservedDeadLetter> deadLetters)
    {
        var problems = new List<string>();
        var dead = deadLetters.Where(d => d.MessageId is not null).GroupBy(d => d.MessageId!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var cases = corpus.ToDictionary(c => c.CaseId, StringComparer.Ordinal);
        foreach (var letter in deadLetters)
        {
            if (letter.MessageId is null || !cases.TryGetValue(letter.MessageId, out var source))
            {
                problems.Add($"dead letter for no case: {letter.MessageId}");
            }
            else if (source.Expected is not (HostileExpectation.DeadLettered or HostileExpectation.AnsweredOrDeadLettered))
            {
                problems.Add($"{source.CaseId} ({source.Kind}, expected {source.Expected}) was dead-lettered: {letter.Reason}");
            }

            if (string.IsNullOrWhiteSpace(letter.Reason))
            {
                problems.Add($"dead letter {letter.MessageId} without x-reject-reason");
            }
        }

        // Results per id: what the cases with that id require (a dead-lettered case with an id also gets a failed Poison result).
        var required = new Dictionary<string, (int Succeeded, int Invalid, int Poison, int Any)>(StringComparer.Ordinal);
        foreach (var c in corpus)
        {
            if (c.ResultId is null)
            {
                if (c.Expected is HostileExpectation.DeadLettered && !dead.ContainsKey(c.CaseId))
                {
                    problems.Add($"{c.CaseId} ({c.Kind}) not dead-lettered: {Preview(c.Body)}");
                }

                continue;
            }

            var r = required.GetValueOrDefault(c.ResultId);
            switch (c.Expected)
            {
                case HostileExpectation.Succeeded:
                    r.Succeeded++;
                    break;
                case HostileExpectation.Failed:
                    r.Invalid++;
                    break;
                case HostileExpectation.DeadLettered:
                    r.Poison++;
                    if (!dead.ContainsKey(c.CaseId))
                    {
                        problems.Add($"{c.CaseId} ({c.Kind}) not dead-lettered: {Preview(c.Body)}");
                    }

                    break;
                default:
                    if (dead.ContainsKey(c.CaseId))
                    {
                        r.Poison++;
                    }
                    else
                    {
                        r.Any++;
                    }

                    break;
            }

            required[c.ResultId] = r;
        }

        var byId = results.GroupBy(r => r.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        foreach (var (id, need) in required)
        {
            var got = byId.GetValueOrDefault(id) ?? [];
            var succeeded = got.Count(r => r.Succeeded);
            var invalid = got.Count(r => !r.Succeeded && r.ErrorClass == "InvalidRequest");
            var poison = got.Count(r => !r.Succeeded && r.ErrorClass == "Poison");
            var total = need.Succeeded + need.Invalid + need.Poison + need.Any;
            if (got.Count != total || succeeded < need.Succeeded || invalid < need.Invalid || poison < need.Poison)
            {
                var sample = corpus.First(c => c.ResultId == id);
                problems.Add($"id {id} ({sample.Kind}): expected {need.Succeeded} succeeded + {need.Invalid} invalid + {need.Poison} poison + {need.Any} either, " +
                    $"got {succeeded} succeeded, {invalid} invalid, {poison} poison, {got.Count - succeeded - invalid - poison} other " +
                    $"[{string.Join("; ", got.Select(r => $"{r.Status}/{r.ErrorClass}: {r.ErrorMessage}"))}] body {Preview(sample.Body)}");
            }
        }

        foreach (var (id, list) in byId)
        {
            if (!required.ContainsKey(id) && id != "after-the-corpus")
            {
                problems.Add($"{list.Count} result(s) for id {id}, which no case carries");
            }
        }

        foreach (var result in results.Where(r => r.Version != JobContract.Version || r.Tenant is null || r.Status is not ("succeeded" or "failed")))
        {
            problems.Add($"result for {result.Id} breaks the contract (version {result.Version}, tenant {result.Tenant}, status {result.Status})");
        }

        return problems;
    }

    private static string Preview(byte[] body) => HostileCorpusTests.Preview(body);

    private static async Task SampleAsync(ManagedProcess process, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested && !process.HasExited)
        {
            process.SampleRss();
            try
            {
                await Task.Delay(200, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
