using System.Diagnostics;
using System.Net;
using Worker.Connector.Client;
using Worker.Connector.Http;
using Worker.Connector.OpenAi;
using Worker.Runtime.Configuration;
using Worker.Runtime.Server;

namespace Worker.Bench;

/// <summary>One side of the hop comparison at one concurrency, over the rounds.</summary>
/// <summary>
/// One side at one concurrency. CPU µs per request: all processes together, and split into the caller (the bench
/// process: HttpClient, or RuntimeClient — plus the runtime itself when it runs in-process), the runtime daemon and
/// the simulator.
/// </summary>
public sealed record HopSide(Spread RequestsPerSecond, Spread P50Micros, Spread P99Micros, Spread CpuMicrosPerRequest, Spread CallerCpuMicros, Spread RuntimeCpuMicros, Spread SimulatorCpuMicros);

/// <summary><paramref name="RuntimeServerP50Micros"/>: p50 of the duration the runtime reports for its part (duration_us: frame read → answer written).</summary>
public sealed record HopRow(int Concurrency, HopSide Direct, HopSide Runtime, Spread ThroughputRatio, Spread AddedP50Micros, Spread RuntimeServerP50Micros);

/// <summary>
/// Figure 1: the same chat-completions request (streamed, 32 tokens, zero simulated latency) sent (a) with HttpClient
/// straight to the simulator and (b) through RuntimeClient → runtime → simulator. Closed loop with C callers for a
/// fixed time; sides alternate round by round (a,b then b,a) against the same simulator process.
/// </summary>
public sealed class HopBench
{
    private const int Tokens = 32;
    private readonly BenchSettings _settings;
    private readonly Stack _stack;
    private readonly Action<string> _log;

    public HopBench(BenchSettings settings, Stack stack, Action<string> log)
    {
        _settings = settings;
        _stack = stack;
        _log = log;
    }

    public async Task<List<HopRow>> RunAsync()
    {
        var (sim, baseAddress) = await _stack.StartSimulatorAsync("sim-hop", 0);
        await using var simProcess = sim;
        var socket = Path.Combine(Path.GetTempPath(), $"wb-hop-{Environment.ProcessId}.sock");
        ChildProcess? runtimeProcess = null;
        RuntimeServer? inproc = null;
        if (_settings.RuntimeMode == "inproc")
        {
            inproc = new RuntimeServer(new RuntimeServerOptions { SocketPath = socket });
            await inproc.StartAsync(CancellationToken.None);
        }
        else
        {
            runtimeProcess = await _stack.StartRuntimeAsync(socket);
        }

        try
        {
            var url = new Uri(baseAddress, "v1/chat/completions").ToString();
            var body = OpenAiChatClient.BuildBody(new ChatCompletionRequest { Messages = [ChatMessage.User("What is the capital of France?")] }, "gpt-4o-mini");
            using var http = new HttpClient(new SocketsHttpHandler
            {
                // What the runtime's upstream client uses, so both sides speak the same HTTP.
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                AutomaticDecompression = DecompressionMethods.All,
                UseCookies = false,
                AllowAutoRedirect = false,
            })
            { Timeout = Timeout.InfiniteTimeSpan };
            await using var runtime = new RuntimeClient(new RuntimeClientOptions { SocketPath = socket });
            var headers = new Dictionary<string, string>
            {
                ["Content-Type"] = "application/json",
                ["Accept"] = "text/event-stream",
                ["X-Sim-Tokens"] = Tokens.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["X-Sim-Latency"] = FormattableString.Invariant($"ttft={_settings.HopLatencyMs}ms,token=0ms"),
            };
            var runtimeRequest = new HttpRequest { Method = "POST", Url = url, Headers = headers, BodyUtf8 = body };

            async Task DirectCall()
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) { Headers = { ContentType = new("application/json") } } };
                request.Headers.TryAddWithoutValidation("Accept", "text/event-stream");
                request.Headers.TryAddWithoutValidation("X-Sim-Tokens", headers["X-Sim-Tokens"]);
                request.Headers.TryAddWithoutValidation("X-Sim-Latency", headers["X-Sim-Latency"]);
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                var bytes = await response.Content.ReadAsByteArrayAsync();
                if (response.StatusCode != HttpStatusCode.OK || bytes.Length == 0)
                {
                    throw new InvalidOperationException($"direct: HTTP {(int)response.StatusCode}");
                }
            }

            var serverTimes = new System.Collections.Concurrent.ConcurrentQueue<double>();
            async Task RuntimeCall()
            {
                // The worker's path for streamed jobs: the body as binary chunk frames (stream), or the original
                // protocol's whole answer in a JSON envelope (BENCH_HOP_PATH=whole).
                HttpResponse response;
                if (_settings.HopPath == "whole")
                {
                    response = await runtime.SendHttpAsync(runtimeRequest);
                }
                else
                {
                    await using var stream = await runtime.StreamHttpAsync(runtimeRequest);
                    response = await stream.ReadWholeAsync(16 * 1024 * 1024);
                }

                serverTimes.Enqueue(response.Duration.TotalMicroseconds);
                if (response.StatusCode != 200 || response.BodyUtf8.Length == 0)
                {
                    throw new InvalidOperationException($"runtime: HTTP {response.StatusCode}");
                }
            }

            // For profiling one side alone (BENCH_HOP_SIDES=direct|runtime) the other side is a no-op.
            Func<Task> Direct = _settings.HopSides == "runtime" ? () => Task.Delay(1) : DirectCall;
            Func<Task> ViaRuntime = _settings.HopSides == "direct" ? () => Task.Delay(1) : RuntimeCall;

            // Sanity and warm-up: JIT tiering (tier 0 → instrumented → tier 1 takes seconds of steady calls in every
            // process) and connection pools on both sides.
            var cpuProcesses = new CpuSources(simProcess, runtimeProcess);
            var warm = TimeSpan.FromSeconds(_settings.Quick ? 0.75 : 1.5);
            _log($"hop: warming up ({4 * warm.TotalSeconds:0.#} s)");
            for (var i = 0; i < 2; i++)
            {
                await RunClosedLoopAsync(Direct, 16, warm, cpuProcesses);
                await RunClosedLoopAsync(ViaRuntime, 16, warm, cpuProcesses);
            }

            var rows = new List<HopRow>();
            foreach (var c in _settings.HopConcurrencies)
            {
                var direct = new List<RoundStats>();
                var viaRuntime = new List<RoundStats>();
                var server = new List<double>();
                for (var round = 0; round < _settings.Rounds; round++)
                {
                    var duration = TimeSpan.FromSeconds(_settings.HopSeconds);
                    async Task RuntimeRound()
                    {
                        serverTimes.Clear();
                        viaRuntime.Add(await RunClosedLoopAsync(ViaRuntime, c, duration, cpuProcesses));
                        var times = serverTimes.ToArray();
                        Array.Sort(times);
                        server.Add(times.Length == 0 ? double.NaN : times[times.Length / 2]);
                    }

                    if (round % 2 == 0)
                    {
                        direct.Add(await RunClosedLoopAsync(Direct, c, duration, cpuProcesses));
                        await RuntimeRound();
                    }
                    else
                    {
                        await RuntimeRound();
                        direct.Add(await RunClosedLoopAsync(Direct, c, duration, cpuProcesses));
                    }

                    _log($"hop c={c} round {round + 1}: direct {direct[^1].Rps:0} req/s p50 {direct[^1].P50:0} µs | runtime {viaRuntime[^1].Rps:0} req/s p50 {viaRuntime[^1].P50:0} µs");
                }

                rows.Add(new HopRow(
                    c,
                    Side(direct),
                    Side(viaRuntime),
                    Spread.Of(direct.Zip(viaRuntime, (a, b) => b.Rps / a.Rps)),
                    Spread.Of(direct.Zip(viaRuntime, (a, b) => b.P50 - a.P50)),
                    Spread.Of(server)));
            }

            return rows;
        }
        finally
        {
            if (inproc is not null)
            {
                await inproc.DisposeAsync();
            }

            if (runtimeProcess is not null)
            {
                await runtimeProcess.DisposeAsync();
            }
        }
    }

    private sealed record CpuSources(ChildProcess Simulator, ChildProcess? Runtime)
    {
        public (double Caller, double Runtime, double Simulator) Read() =>
            (ProcStat.SelfCpuSeconds(), Runtime?.CpuSeconds() ?? 0, Simulator.CpuSeconds());
    }

    private static HopSide Side(List<RoundStats> rounds) => new(
        Spread.Of(rounds.Select(r => r.Rps)),
        Spread.Of(rounds.Select(r => r.P50)),
        Spread.Of(rounds.Select(r => r.P99)),
        Spread.Of(rounds.Select(r => r.CpuMicrosPerRequest)),
        Spread.Of(rounds.Select(r => r.Caller)),
        Spread.Of(rounds.Select(r => r.Runtime)),
        Spread.Of(rounds.Select(r => r.Simulator)));

    private sealed record RoundStats(double Rps, double P50, double P99, double CpuMicrosPerRequest, double Caller, double Runtime, double Simulator);

    /// <summary>
    /// C callers in a closed loop for 0.25 s of warm-up plus <paramref name="duration"/>; only calls that start after the
    /// warm-up count for latency; throughput counts completions inside the measured window. CPU per request = CPU of each process over the whole round / calls.
    /// </summary>
    private static async Task<RoundStats> RunClosedLoopAsync(Func<Task> call, int concurrency, TimeSpan duration, CpuSources cpu)
    {
        var warm = TimeSpan.FromSeconds(0.25);
        var cpuBefore = cpu.Read();
        var start = Stopwatch.GetTimestamp();
        var measureFrom = start + (long)(warm.TotalSeconds * Stopwatch.Frequency);
        var end = measureFrom + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var samples = new List<long>[concurrency];
        var total = 0L;
        var completedInWindow = 0L;
        var workers = new Task[concurrency];
        for (var w = 0; w < concurrency; w++)
        {
            var list = samples[w] = new List<long>(4096);
            workers[w] = Task.Run(async () =>
            {
                long calls = 0;
                long inWindow = 0;
                while (true)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    if (t0 >= end)
                    {
                        break;
                    }

                    await call();
                    var t1 = Stopwatch.GetTimestamp();
                    calls++;
                    if (t1 >= measureFrom && t1 <= end)
                    {
                        inWindow++;
                    }

                    if (t0 >= measureFrom && t1 <= end)
                    {
                        list.Add(t1 - t0);
                    }
                }

                Interlocked.Add(ref total, calls);
                Interlocked.Add(ref completedInWindow, inWindow);
            });
        }

        await Task.WhenAll(workers);
        var cpuAfter = cpu.Read();
        double PerCall(double before, double after) => total == 0 ? double.NaN : (after - before) * 1_000_000 / total;
        var caller = PerCall(cpuBefore.Caller, cpuAfter.Caller);
        var runtime = PerCall(cpuBefore.Runtime, cpuAfter.Runtime);
        var simulator = PerCall(cpuBefore.Simulator, cpuAfter.Simulator);
        var all = samples.SelectMany(s => s).ToArray();
        Array.Sort(all);
        return new RoundStats(
            completedInWindow / duration.TotalSeconds,
            Percentiles.Micros(all, 50),
            Percentiles.Micros(all, 99),
            caller + runtime + simulator,
            caller,
            runtime,
            simulator);
    }
}
