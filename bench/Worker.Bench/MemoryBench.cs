using System.Text;
using System.Text.Json;

namespace Worker.Bench;

/// <summary>Peak RSS of a fresh worker through jobs with large answers; <paramref name="Streamed"/>: the worker asked for an event stream (its default) or for one JSON body.</summary>
public sealed record MemoryPeak(bool Streamed, int Concurrency, int Jobs, int SimTokens, double ContentBytes, double BodyBytes, double ResultBytes, double IdleRssMiB, double PeakRssMiB);

public sealed record MemoryCheckpoint(int Jobs, double RssMiB, double HwmMiB);

public sealed record MemoryResult(MemoryPeak Peak, MemoryPeak PeakNotStreamed, IReadOnlyList<MemoryCheckpoint> Checkpoints, double FlatRatio);

/// <summary>
/// Figure 4, the worker as its own process (RSS read from /proc/&lt;pid&gt;/status):
/// (a) peak RSS (VmHWM) of a fresh worker at C = 64 working through jobs whose answers are ~100 KB of content
/// (streamed, as the worker asks by default — about 4 MiB of events each — and again asked as one JSON body);
/// (b) RSS of one worker after N1 and after N2 small jobs (zero latency, C = 64), read after the queue drained and
/// 3 s of idle — flat means no growth per job.
/// </summary>
public sealed class MemoryBench
{
    private const int Concurrency = 64;
    private readonly BenchSettings _settings;
    private readonly Stack _stack;
    private readonly PipelineBench _rounds;
    private readonly Action<string> _log;

    public MemoryBench(BenchSettings settings, Stack stack, PipelineBench rounds, Action<string> log)
    {
        _settings = settings;
        _stack = stack;
        _rounds = rounds;
        _log = log;
    }

    public async Task<MemoryResult> RunAsync(BrokerClient broker)
    {
        var (sim, baseAddress) = await _stack.StartSimulatorAsync("sim-memory", 0);
        await using var simProcess = sim;
        var side = new Topology($"bench-b{Environment.ProcessId}-m");
        try
        {
            var (tokens, contentBytes, streamBytes, jsonBytes) = await SizeAnswerAsync(baseAddress, _settings.LargeAnswerBytes);
            _log($"memory: {tokens} tokens ≈ {contentBytes / 1024:0} KiB of content, {streamBytes / 1024:0} KiB as an event stream, {jsonBytes / 1024:0} KiB as JSON");
            var peak = await PeakAsync(broker, side, baseAddress, tokens, contentBytes, streamBytes, streamed: true);
            var peakJson = await PeakAsync(broker, side, baseAddress, tokens, contentBytes, jsonBytes, streamed: false);
            var checkpoints = await FlatAsync(broker, side, baseAddress);
            var ratio = checkpoints.Count >= 2 ? checkpoints[^1].RssMiB / checkpoints[0].RssMiB : double.NaN;
            return new MemoryResult(peak, peakJson, checkpoints, ratio);
        }
        finally
        {
            await broker.DeleteAsync(side);
        }
    }

    private async Task<MemoryPeak> PeakAsync(BrokerClient broker, Topology side, Uri simulator, int tokens, double contentBytes, double bodyBytes, bool streamed)
    {
        await using var worker = await _stack.StartWorkerAsync(broker, side, simulator, Concurrency, streamed ? "worker-mem-peak-stream" : "worker-mem-peak-json");
        await using var results = await ResultsCollector.StartAsync(broker.Connection, side.ResultsQueue);
        await Task.Delay(2000);
        var idle = worker.StatusKiB("VmRSS") / 1024.0;
        var jobs = Concurrency * 3;
        var bodies = Stack.Jobs($"mem-{Environment.ProcessId}-{streamed}", jobs, tokens, streamed);
        results.Expect(jobs);
        var publish = broker.PublishAsync(side.JobsQueue, bodies);
        await results.WaitAsync(TimeSpan.FromMinutes(5));
        await publish;
        if (results.Failed > 0)
        {
            throw new InvalidOperationException($"{results.Failed} large-answer jobs failed");
        }

        var peak = worker.StatusKiB("VmHWM") / 1024.0;
        _log($"memory ({(streamed ? "streamed" : "JSON")}): idle RSS {idle:0} MiB, peak RSS {peak:0} MiB over {jobs} jobs at C={Concurrency}, result {results.MeanBytes / 1024:0} KiB");
        return new MemoryPeak(streamed, Concurrency, jobs, tokens, contentBytes, bodyBytes, results.MeanBytes, idle, peak);
    }

    private async Task<List<MemoryCheckpoint>> FlatAsync(BrokerClient broker, Topology side, Uri simulator)
    {
        await using var worker = await _stack.StartWorkerAsync(broker, side, simulator, Concurrency, "worker-mem-flat");
        await using var results = await ResultsCollector.StartAsync(broker.Connection, side.ResultsQueue);
        var list = new List<MemoryCheckpoint>();
        var done = 0;
        foreach (var target in _settings.MemoryCheckpoints)
        {
            var remaining = target - done;
            const int Chunk = 10_000;
            while (remaining > 0)
            {
                var n = Math.Min(Chunk, remaining);
                await _rounds.RoundAsync(broker, side, results, n, 0);
                remaining -= n;
                done += n;
            }

            await Task.Delay(3000);
            var checkpoint = new MemoryCheckpoint(done, worker.StatusKiB("VmRSS") / 1024.0, worker.StatusKiB("VmHWM") / 1024.0);
            _log($"memory: after {done} jobs RSS {checkpoint.RssMiB:0} MiB (peak so far {checkpoint.HwmMiB:0} MiB)");
            list.Add(checkpoint);
        }

        return list;
    }

    /// <summary>Asks the simulator directly how long an answer of a given token count is, and picks the count for the target size.</summary>
    private static async Task<(int Tokens, double ContentBytes, double StreamBytes, double JsonBytes)> SizeAnswerAsync(Uri simulator, int targetBytes)
    {
        using var http = new HttpClient { BaseAddress = simulator };
        async Task<string> Ask(int tokens, bool stream)
        {
            var streaming = stream ? "\"stream\":true,\"stream_options\":{\"include_usage\":true}" : "\"stream\":false";
            var body = $"{{\"model\":\"gpt-4o-mini\",\"messages\":[{{\"role\":\"user\",\"content\":\"What is the capital of France?\"}}],{streaming},\"sim_tokens\":{tokens}}}";
            using var response = await http.PostAsync(new Uri("v1/chat/completions", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
            response.EnsureSuccessStatusCode();
            return await response.Content.ReadAsStringAsync();
        }

        static int ContentLength(string json)
        {
            using var doc = JsonDocument.Parse(json);
            return Encoding.UTF8.GetByteCount(doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!);
        }

        const int Probe = 2000;
        var perToken = ContentLength(await Ask(Probe, false)) / (double)Probe;
        var tokens = (int)Math.Ceiling(targetBytes / perToken);
        var json = await Ask(tokens, false);
        var stream = Encoding.UTF8.GetByteCount(await Ask(tokens, true));
        return (tokens, ContentLength(json), stream, Encoding.UTF8.GetByteCount(json));
    }
}
