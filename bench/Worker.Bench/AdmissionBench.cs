using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Worker.Bench;

/// <summary>One admission run: W workers (C = 32 each) sharing one key against a simulator enforcing RPM and TPM.</summary>
public sealed record AdmissionRow(
    int Workers, int Jobs, double Seconds, double IdealSeconds, double Efficiency, long RateLimited, double RateLimitedShare, int Failed);

/// <summary>
/// Admission: how close the workers get to what the endpoint's limits allow, and how many 429s it costs, with 1 and
/// 3 workers side by side in one run. The baseline is the limit itself: the bucket's burst at once, then its refill
/// rate, for exactly the tokens the simulator charged. A fresh simulator (fresh buckets) and queue per row.
/// </summary>
public sealed class AdmissionBench
{
    private const int RequestsPerMinute = 6000;    // 100/s
    private const int TokensPerMinute = 540_000;   // 9,000/s; ~108 tokens a job → ~83 jobs/s: the binding limit
    private const int MaxTokens = 100;

    private readonly BenchSettings _settings;
    private readonly Stack _stack;
    private readonly Action<string> _log;
    private readonly string _runId = DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    public AdmissionBench(BenchSettings settings, Stack stack, Action<string> log)
    {
        _settings = settings;
        _stack = stack;
        _log = log;
    }

    public async Task<List<AdmissionRow>> RunAsync(BrokerClient broker)
    {
        var rows = new List<AdmissionRow>();
        foreach (var workers in new[] { 1, 3 })
        {
            rows.Add(await RunOneAsync(broker, workers));
        }

        return rows;
    }

    private async Task<AdmissionRow> RunOneAsync(BrokerClient broker, int workers)
    {
        var jobs = _settings.Quick ? 1500 : 3000;
        var (sim, baseAddress) = await _stack.StartSimulatorAsync($"sim-admission-w{workers}", 50, 0,
        [
            $"--Simulator:RateLimits:RequestsPerMinute={RequestsPerMinute}",
            $"--Simulator:RateLimits:TokensPerMinute={TokensPerMinute}",
            "--Simulator:RateLimits:BurstSeconds=1",
            "--Simulator:RateLimits:RetryAfterProbability=0.5",
        ]);
        await using var simProcess = sim;
        var side = new Topology($"bench-{_runId}-adm{workers}");
        var started = new List<ChildProcess>();
        try
        {
            // The workers declare the topology; the jobs go in once all of them consume, faster than the limit lets
            // them out, and the figure is taken from the first answer to the last.
            var clock = Stopwatch.StartNew();
            for (var w = 0; w < workers; w++)
            {
                started.Add(await _stack.StartWorkerAsync(broker, side, baseAddress, 32, $"worker-admission-w{workers}-{w}"));
            }

            await using var results = await ResultsCollector.StartAsync(broker.Connection, side.ResultsQueue, checkStatus: true);
            results.Expect(jobs);
            var bodies = Enumerable.Range(0, jobs)
                .Select(i => Encoding.UTF8.GetBytes($$$"""{"id":"adm-{{{i}}}","prompt":"Question {{{i}}}: what is {{{i}}} squared?","params":{"max_tokens":{{{MaxTokens}}}}}"""))
                .ToArray();
            await broker.PublishAsync(side.JobsQueue, bodies);

            var arrivals = await results.WaitAsync(TimeSpan.FromSeconds(60 + (jobs / 20)));
            var seconds = (double)(arrivals[^1] - arrivals[0]) / Stopwatch.Frequency;
            using var http = new HttpClient { BaseAddress = baseAddress };
            using var stats = JsonDocument.Parse(await http.GetStringAsync(new Uri("stats", UriKind.Relative)));
            var limits = stats.RootElement.GetProperty("rate_limits");
            var limited = limits.GetProperty("requests_limited").GetInt64() + limits.GetProperty("tokens_limited").GetInt64();
            var charged = limits.GetProperty("tokens_charged").GetInt64();

            // From the first answer to the last, the limit allows one bucket (1 s) at once and then its rate.
            var ideal = Math.Max((jobs - (RequestsPerMinute / 60.0)) / (RequestsPerMinute / 60.0), (charged - (TokensPerMinute / 60.0)) / (TokensPerMinute / 60.0));
            var row = new AdmissionRow(workers, jobs, Math.Round(seconds, 2), Math.Round(ideal, 2), Math.Round(ideal / seconds, 3), limited,
                Math.Round((double)limited / (jobs + limited), 4), results.Failed);
            _log($"admission {workers} worker(s): {jobs} jobs in {seconds:0.0} s (limit allows {ideal:0.0} s) → efficiency {row.Efficiency:0.000}; 429s {limited} ({row.RateLimitedShare:P1}); failed {results.Failed}; total {clock.Elapsed.TotalSeconds:0} s");
            return row;
        }
        finally
        {
            foreach (var worker in started)
            {
                await worker.DisposeAsync();
            }

            await broker.DeleteAsync(side);
        }
    }
}
