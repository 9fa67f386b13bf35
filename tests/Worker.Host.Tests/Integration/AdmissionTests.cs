using System.Diagnostics;
using Worker.Host.Contracts;
using Worker.Host.Intake;
using Worker.Host.Processing;
using Worker.Simulator.Generation;
using Worker.Simulator.Options;
using Worker.Testing;
using Xunit.Abstractions;

namespace Worker.Host.Tests.Integration;

/// <summary>
/// Admission against a simulator that enforces real limits: the broker, our runtime and the simulator are real, and
/// two workers share one API key with nothing shared between them but the endpoint's answers.
/// </summary>
[Collection(RabbitMqBrokerCollection.Name)]
public sealed class AdmissionTests(RabbitMqBrokerFixture broker, ITestOutputHelper output)
{
    private const string Model = "gpt-4o-mini";
    private const int MaxTokens = 100;

    private static string Job(string id, string prompt, string tenant = "default", string extra = "") =>
        $$"""{"id":"{{id}}","tenant":"{{tenant}}","prompt":"{{prompt}}","params":{"max_tokens":{{MaxTokens}}}{{extra}}}""";

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.0)]
    public async Task Two_workers_pace_to_the_request_and_token_limits_and_every_job_succeeds(double retryAfterProbability)
    {
        const int jobs = 2000;
        const int requestsPerMinute = 4800;      // 80/s
        const int tokensPerMinute = 480_000;     // 8,000/s: at ~108 tokens a job, ~74 jobs/s — the binding limit
        var simulator = new SimulatorOptions
        {
            Latency = { TimeToFirstTokenMs = 20, TimePerTokenMs = 0 },
            RateLimits = { RequestsPerMinute = requestsPerMinute, TokensPerMinute = tokensPerMinute, BurstSeconds = 1, RetryAfterProbability = retryAfterProbability, Seed = 5 },
        };
        await using var harness = await WorkerHarness.StartAsync(broker, simulator, s => s["Worker:Concurrency"] = "32", startWorker: false);
        await harness.DeclareTopologyAsync();
        var prompts = Enumerable.Range(0, jobs).Select(i => $"Question {i}: what is {i} squared?").ToArray();
        await harness.PublishAsync(prompts.Select((p, i) => Job($"a{i}", p)));

        await harness.StartWorkerAsync();
        await harness.StartAnotherWorkerAsync();

        // Steady state: from the 100th answer (the first second's burst is spent by then) to the last.
        const int warm = 100;
        var first = await harness.ResultsAsync(warm, TimeSpan.FromMinutes(1));
        var clock = Stopwatch.StartNew();
        var results = first.Concat(await harness.ResultsAsync(jobs - warm, TimeSpan.FromMinutes(3))).ToList();
        var elapsed = clock.Elapsed;

        Assert.Equal(jobs, results.Select(r => r.Id).Distinct().Count());
        Assert.All(results, r => Assert.Equal(JobStatus.Succeeded, r.Status));
        Assert.All(results, r => Assert.Equal(AnswerGenerator.Generate(Model, prompts[int.Parse(r.Id[1..], System.Globalization.CultureInfo.InvariantCulture)]), r.Content));

        var stats = harness.Simulator.Stats;
        var limited = stats.RequestsLimited + stats.TokensLimited;
        var limitedShare = (double)limited / (jobs + limited);
        // What the binding limit allows for the measured answers (every job is charged about the same).
        var measured = jobs - warm;
        var byRequests = measured / (requestsPerMinute / 60.0);
        var byTokens = stats.TokensCharged * measured / (double)jobs / (tokensPerMinute / 60.0);
        var ideal = TimeSpan.FromSeconds(Math.Max(byRequests, byTokens));
        var efficiency = ideal / elapsed;
        var summary = $"retry-after p={retryAfterProbability}: answers {warm + 1}–{jobs} in {elapsed.TotalSeconds:0.0} s, the limit allows {ideal.TotalSeconds:0.0} s " +
            $"(efficiency {efficiency:P1}); 429s {limited} ({stats.RequestsLimited} requests, {stats.TokensLimited} tokens) = {limitedShare:P1} of requests; " +
            $"tokens charged {stats.TokensCharged}; attempts max {results.Max(r => r.Attempts)}";
        output.WriteLine(summary);
        Assert.True(limitedShare <= 0.10, summary);
        Assert.True(efficiency >= 0.85, summary);
        Assert.All(results, r => Assert.InRange(r.Attempts, 1, 1000));
    }

    [Fact]
    public async Task Concurrency_settles_near_the_capacity_of_a_server_that_sends_no_headers()
    {
        const int capacity = 8;
        const int jobs = 800;
        var simulator = new SimulatorOptions
        {
            Latency = { TimeToFirstTokenMs = 100, TimePerTokenMs = 0 },
            Capacity = { MaxConcurrent = capacity, Overflow = CapacityOverflow.Queue },
        };
        await using var harness = await WorkerHarness.StartAsync(broker, simulator, s =>
        {
            s["Worker:Concurrency"] = "48";
            s["Worker:DefaultStream"] = "false";
        }, startWorker: false);
        await harness.DeclareTopologyAsync();
        await harness.PublishAsync(Enumerable.Range(0, jobs).Select(i => Job($"c{i}", $"Capacity {i}?")));
        await harness.StartWorkerAsync();

        var queued = new List<int>();
        var limits = new List<int>();
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            var admission = harness.Service<JobAdmission>();
            while (!sampling.IsCancellationRequested)
            {
                queued.Add(harness.Simulator.Stats.QueuedGenerations);
                limits.Add(admission.Lines.Select(l => l.Line.ConcurrencyLimit).DefaultIfEmpty(0).Max());
                await Task.Delay(100, CancellationToken.None);
            }
        });
        var clock = Stopwatch.StartNew();
        var results = await harness.ResultsAsync(jobs, TimeSpan.FromMinutes(2));
        var elapsed = clock.Elapsed;
        await sampling.CancelAsync();
        await sampler;

        Assert.All(results, r => Assert.Equal(JobStatus.Succeeded, r.Status));
        // The second half, once settled.
        var settledQueue = queued.Skip(queued.Count / 2).Average();
        var settledLimit = limits.Skip(limits.Count / 2).Average();
        var throughput = jobs / elapsed.TotalSeconds;
        var summary = $"capacity {capacity}: limit settled at {settledLimit:0.0} (samples {string.Join(',', limits.Skip(limits.Count / 2).Take(40))}), " +
            $"queue at the server {settledQueue:0.0}; {throughput:0.0} jobs/s (the server's ceiling {capacity / 0.1:0})";
        output.WriteLine(summary);
        Assert.True(settledLimit <= capacity + 8, summary);
        Assert.True(settledQueue <= 6, summary);
        Assert.True(throughput >= 0.7 * capacity / 0.1, summary);
        Assert.Equal(0, harness.Simulator.Stats.CapacityRejected);
    }

    [Fact]
    public async Task Jobs_the_limits_cannot_admit_before_their_deadline_expire_and_are_never_sent()
    {
        // 60 requests a minute, a burst of one: one call a second.
        var simulator = new SimulatorOptions { RateLimits = { RequestsPerMinute = 60, BurstSeconds = 1 } };
        await using var harness = await WorkerHarness.StartAsync(broker, simulator, s => s["Worker:Concurrency"] = "8", startWorker: false);
        await harness.DeclareTopologyAsync();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(6).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        await harness.PublishAsync(Enumerable.Range(0, 12).Select(i => Job($"d{i}", $"Deadline {i}?", extra: $",\"deadline\":\"{deadline}\"")));
        await harness.StartWorkerAsync();

        var results = await harness.ResultsAsync(12, TimeSpan.FromSeconds(60));
        var succeeded = results.Where(r => r.Status == JobStatus.Succeeded).ToList();
        var expired = results.Where(r => r.Result?.Error?.Class == ResultBuilder.ExpiredClass).ToList();
        output.WriteLine($"{succeeded.Count} succeeded, {expired.Count} expired");
        Assert.Equal(12, succeeded.Count + expired.Count);
        Assert.InRange(succeeded.Count, 1, 8);
        Assert.NotEmpty(expired);
        // Expired jobs were not sent (but for a 429 on one, which its attempts then count): every call the simulator
        // saw is an attempt on a result.
        Assert.Contains(expired, r => r.Attempts == 0);
        Assert.Equal(harness.Simulator.Stats.TotalRequests, results.Sum(r => r.Attempts));
    }

    [Fact]
    public async Task A_flooding_tenant_over_its_budget_does_not_starve_a_budgeted_one()
    {
        await using var harness = await WorkerHarness.StartAsync(broker, new SimulatorOptions { Latency = { TimeToFirstTokenMs = 20, TimePerTokenMs = 0 } }, s =>
        {
            s["Worker:Concurrency"] = "8";
            s["Llm:Limits:Tenants:flood"] = "3000";
            s["Llm:Limits:Tenants:steady"] = "100000";
        }, startWorker: false);
        await harness.DeclareTopologyAsync();
        // The flood is first in the queue: 300 jobs, about ten times what its budget allows in the test's time.
        await harness.PublishAsync(Enumerable.Range(0, 300).Select(i => Job($"f{i}", $"Flood {i}?", "flood")));
        await harness.PublishAsync(Enumerable.Range(0, 40).Select(i => Job($"s{i}", $"Steady {i}?", "steady")));
        await harness.StartWorkerAsync();
        var clock = Stopwatch.StartNew();

        var window = await harness.ResultsWithinAsync(TimeSpan.FromSeconds(15));
        var steady = window.Where(r => r.Id.StartsWith('s')).ToList();
        var flood = window.Where(r => r.Id.StartsWith('f')).ToList();
        var steadyDone = steady.Count == 40 ? "all" : steady.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var floodTokens = flood.Sum(r => r.Result?.Usage?.TotalTokens ?? 0);
        var summary = $"in 15 s: steady {steadyDone} of 40, flood {flood.Count} of 300 ({floodTokens} tokens; budget 3000/min)";
        output.WriteLine(summary);
        Assert.All(window, r => Assert.Equal(JobStatus.Succeeded, r.Status));
        Assert.Equal(40, steady.Count);
        // The flood got its budget's worth (a minute's burst plus the refill, charged at the usage the endpoint
        // reported), not the whole queue.
        Assert.InRange(floodTokens, 1000, 3000 + (3000 / 60.0 * 15) + 1500);
        Assert.InRange(flood.Count, 20, 299);
        _ = clock;
    }
}
