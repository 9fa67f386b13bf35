namespace Worker.Bench;

/// <summary>Time to first token as the worker reports it (<c>ttft_ms</c>), against the simulator's configured one.</summary>
public sealed record TtftRow(int Concurrency, int Jobs, int ConfiguredMs, double DirectP50Ms, double P50Ms, double P95Ms, double AddedP50Ms, double WorkerCpuMicrosPerJob);

/// <summary>
/// Streamed jobs through worker + embedded runtime against a simulator whose first token comes after a fixed time.
/// The baseline, in the same run against the same simulator: a plain HttpClient streaming the same request and timing
/// its first content chunk. What the worker reports above the baseline is what the worker and the runtime hop add.
/// </summary>
public sealed class TtftBench
{
    private const int ConfiguredMs = 200;

    private readonly BenchSettings _settings;
    private readonly Stack _stack;
    private readonly Action<string> _log;

    public TtftBench(BenchSettings settings, Stack stack, Action<string> log)
    {
        _settings = settings;
        _stack = stack;
        _log = log;
    }

    public async Task<List<TtftRow>> RunAsync(BrokerClient broker)
    {
        var (sim, baseAddress) = await _stack.StartSimulatorAsync("sim-ttft", ConfiguredMs, 2);
        await using var simProcess = sim;
        var side = new Topology($"bench-{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}-ttft");
        var rows = new List<TtftRow>();
        var direct = await DirectAsync(baseAddress, _settings.Quick ? 30 : 100);
        _log($"ttft direct (HttpClient → simulator): p50 {direct:0.0} ms for {ConfiguredMs} ms configured");
        try
        {
            foreach (var concurrency in new[] { 1, 16 })
            {
                await using var worker = await _stack.StartWorkerAsync(broker, side, baseAddress, concurrency, $"worker-ttft-c{concurrency}");
                await using var results = await ResultsCollector.StartAsync(broker.Connection, side.ResultsQueue);
                var jobs = (_settings.Quick ? 20 : 50) * concurrency;

                // A first batch of the same size warms the fresh worker up (JIT, pools, connections); the second is measured.
                results.Expect(jobs);
                await broker.PublishAsync(side.JobsQueue, Stack.Jobs($"ttft-warm-c{concurrency}", jobs, simTokens: 32, stream: true));
                await results.WaitAsync(TimeSpan.FromSeconds(60 + jobs));
                results.Expect(jobs);
                var cpuBefore = worker.CpuSeconds();
                await broker.PublishAsync(side.JobsQueue, Stack.Jobs($"ttft-c{concurrency}", jobs, simTokens: 32, stream: true));
                await results.WaitAsync(TimeSpan.FromSeconds(60 + jobs));
                var cpuPerJob = (worker.CpuSeconds() - cpuBefore) * 1_000_000 / jobs;
                var ttft = results.TimesToFirstToken();
                if (ttft.Length == 0)
                {
                    throw new InvalidOperationException("no result carried ttft_ms");
                }

                var p50 = ttft[ttft.Length / 2];
                var p95 = ttft[(int)(ttft.Length * 0.95)];
                rows.Add(new TtftRow(concurrency, jobs, ConfiguredMs, Math.Round(direct, 1), Math.Round(p50, 1), Math.Round(p95, 1), Math.Round(p50 - direct, 1), Math.Round(cpuPerJob)));
                _log($"ttft c={concurrency}: p50 {p50:0.0} ms, p95 {p95:0.0} ms; direct p50 {direct:0.0} ms (added p50 {p50 - direct:0.0} ms); worker CPU {cpuPerJob:0} µs/job");
            }
        }
        finally
        {
            await broker.DeleteAsync(side);
        }

        return rows;
    }

    /// <summary>Median time to the first content chunk of a plain streamed request, one at a time.</summary>
    private static async Task<double> DirectAsync(Uri baseAddress, int samples)
    {
        using var http = new HttpClient { BaseAddress = baseAddress };
        var times = new List<double>();
        for (var i = 0; i < samples; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
            {
                Content = new StringContent(
                    """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"What is the capital of France?"}],"stream":true,"sim_tokens":32}""",
                    System.Text.Encoding.UTF8, "application/json"),
            };
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            response.EnsureSuccessStatusCode();
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.Contains("\"content\":\"", StringComparison.Ordinal) && !line.Contains("\"content\":\"\"", StringComparison.Ordinal))
                {
                    times.Add(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    break;
                }
            }
        }

        times.Sort();
        return times.Count == 0 ? double.NaN : times[times.Count / 2];
    }
}
