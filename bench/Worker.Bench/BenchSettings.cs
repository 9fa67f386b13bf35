using System.Globalization;

namespace Worker.Bench;

/// <summary>
/// Everything a run is told: where the built binaries are, the broker, quick or full, rounds and durations.
/// Command-line options win over the BENCH_* environment variables (which scripts/bench.sh documents).
/// </summary>
public sealed class BenchSettings
{
    public required string RepoRoot { get; init; }
    public required string HostDll { get; init; }
    public required string RuntimeDll { get; init; }
    public required string SimulatorDll { get; init; }
    public required string RabbitUri { get; init; }
    public required string OutDir { get; init; }
    public required string WorkDir { get; init; }
    public bool Quick { get; init; }

    /// <summary>Runtime hop, for profiling: "both" (default), "direct" or "runtime"; and the concurrencies.</summary>
    public string HopSides { get; init; } = "both";

    public required IReadOnlyList<int> HopConcurrencies { get; init; }

    /// <summary>Drain (figure 2): the worker concurrencies measured (BENCH_DRAIN_CONCURRENCY, default 16,64).</summary>
    public required IReadOnlyList<int> DrainConcurrencies { get; init; }

    /// <summary>Runtime hop, side (b): "stream" (binary chunk frames, the worker's path for streamed jobs) or "whole" (JSON envelope).</summary>
    public string HopPath { get; init; } = "stream";

    /// <summary>Runtime hop, for diagnosis: simulated time to first token sent as X-Sim-Latency (default 0).</summary>
    public int HopLatencyMs { get; init; }

    /// <summary>Scenarios to run: hop, pipeline, scaling, memory, ttft, admission.</summary>
    public required IReadOnlySet<string> Scenarios { get; init; }

    /// <summary>Rounds per figure (min/median/max are over these).</summary>
    public int Rounds { get; init; }

    /// <summary>Runtime hop: seconds measured per round and per side.</summary>
    public double HopSeconds { get; init; }

    /// <summary>Runtime hop: "process" (the Worker.Runtime daemon) or "inproc" (RuntimeServer in the bench process).</summary>
    public string RuntimeMode { get; init; } = "process";

    /// <summary>Pipeline and raw cycle: target seconds per round (the job count is sized from a calibration round).</summary>
    public double PipelineSeconds { get; init; }

    /// <summary>Diagnosis: extra environment for every worker process (BENCH_WORKER_ENV="K=V;K2=V2"), e.g. runtime knobs.</summary>
    public IReadOnlyDictionary<string, string?> WorkerEnvironment { get; init; } = new Dictionary<string, string?>();

    /// <summary>Diagnosis: extra environment for the standalone runtime daemon of the hop (BENCH_RUNTIME_ENV="K=V;K2=V2").</summary>
    public IReadOnlyDictionary<string, string?> RuntimeEnvironment { get; init; } = new Dictionary<string, string?>();

    /// <summary>Drain (figure 2): jobs preloaded per round.</summary>
    public int DrainJobs { get; init; }

    /// <summary>Drain baseline: the raw cycle's shape (batched or tracked, see RawCycle), prefetch and dispatch concurrency.</summary>
    public string RawMode { get; init; } = "batched";

    public int RawPrefetch { get; init; } = 512;

    public int RawDispatch { get; init; } = 64;

    /// <summary>Scaling: simulated time to complete (ms) and the number of waves of C jobs per round.</summary>
    public int ScalingLatencyMs { get; init; }

    public int ScalingWaves { get; init; }

    /// <summary>Memory: job counts at which RSS is read (cumulative, same worker process).</summary>
    public required IReadOnlyList<int> MemoryCheckpoints { get; init; }

    /// <summary>Memory: answer size in bytes of content for the peak-RSS test.</summary>
    public int LargeAnswerBytes { get; init; } = 100 * 1024;

    /// <summary>BenchmarkDotNet JSON reports to fold into the table (written by Worker.Bench.Micro).</summary>
    public string? MicroDir { get; init; }

    public static BenchSettings Parse(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                var key = args[i][2..];
                var eq = key.IndexOf('=', StringComparison.Ordinal);
                if (eq >= 0)
                {
                    options[key[..eq]] = key[(eq + 1)..];
                }
                else if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    options[key] = args[++i];
                }
                else
                {
                    options[key] = "true";
                }
            }
        }

        string? Get(string option, string env) => options.TryGetValue(option, out var v) ? v : Environment.GetEnvironmentVariable(env);

        var root = Path.GetFullPath(Get("repo", "BENCH_REPO") ?? FindRepoRoot());
        var quick = Get("quick", "BENCH_QUICK") is "1" or "true";
        var bin = Path.Combine("bin", "Release", "net10.0");
        var scenarios = (Get("scenarios", "BENCH_SCENARIOS") ?? "hop,pipeline,scaling,memory,ttft,admission")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
        var checkpoints = (Get("memory-jobs", "BENCH_MEM_JOBS") ?? (quick ? "2000,10000" : "10000,50000"))
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        var outDir = Path.GetFullPath(Get("out", "BENCH_OUT") ?? Path.Combine(root, "bench", "results"));
        return new BenchSettings
        {
            RepoRoot = root,
            HostDll = Get("host-dll", "BENCH_HOST_DLL") ?? Path.Combine(root, "src", "Worker.Host", bin, "Worker.Host.dll"),
            RuntimeDll = Get("runtime-dll", "BENCH_RUNTIME_DLL") ?? Path.Combine(root, "src", "Worker.Runtime", bin, "Worker.Runtime.dll"),
            SimulatorDll = Get("simulator-dll", "BENCH_SIMULATOR_DLL") ?? Path.Combine(root, "src", "Worker.Simulator", bin, "Worker.Simulator.dll"),
            RabbitUri = Get("rabbit", "RABBITMQ_URI") ?? "amqp://guest:guest@127.0.0.1:5672/",
            OutDir = outDir,
            WorkDir = Get("work", "BENCH_WORK") ?? Path.Combine(Path.GetTempPath(), $"worker-bench-{Environment.ProcessId}"),
            Quick = quick,
            Scenarios = scenarios,
            Rounds = Int(Get("rounds", "BENCH_ROUNDS")) ?? (quick ? 3 : 5),
            HopSeconds = Double(Get("hop-seconds", "BENCH_HOP_SECONDS")) ?? (quick ? 1.0 : 3.0),
            RuntimeMode = Get("runtime", "BENCH_RUNTIME") ?? "process",
            HopSides = Get("hop-sides", "BENCH_HOP_SIDES") ?? "both",
            HopPath = Get("hop-path", "BENCH_HOP_PATH") ?? "stream",
            HopLatencyMs = Int(Get("hop-latency-ms", "BENCH_HOP_LATENCY_MS")) ?? 0,
            HopConcurrencies = (Get("hop-concurrency", "BENCH_HOP_CONCURRENCY") ?? "1,16,64")
                .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(),
            DrainConcurrencies = (Get("drain-concurrency", "BENCH_DRAIN_CONCURRENCY") ?? "16,64")
                .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(),
            PipelineSeconds = Double(Get("pipeline-seconds", "BENCH_PIPELINE_SECONDS")) ?? (quick ? 1.5 : 3.0),
            WorkerEnvironment = Pairs(Get("worker-env", "BENCH_WORKER_ENV")),
            RuntimeEnvironment = Pairs(Get("runtime-env", "BENCH_RUNTIME_ENV")),
            DrainJobs = Int(Get("drain-jobs", "BENCH_DRAIN_JOBS")) ?? (quick ? 6000 : 20000),
            RawMode = Get("raw-mode", "BENCH_RAW_MODE") ?? "batched",
            RawPrefetch = Int(Get("raw-prefetch", "BENCH_RAW_PREFETCH")) ?? 512,
            RawDispatch = Int(Get("raw-dispatch", "BENCH_RAW_DISPATCH")) ?? 64,
            ScalingLatencyMs = Int(Get("latency-ms", "BENCH_LATENCY_MS")) ?? 200,
            ScalingWaves = Int(Get("waves", "BENCH_WAVES")) ?? (quick ? 5 : 10),
            MemoryCheckpoints = checkpoints,
            MicroDir = Get("micro", "BENCH_MICRO_DIR"),
        };
    }

    private static int? Int(string? value) => value is null ? null : int.Parse(value, CultureInfo.InvariantCulture);

    private static double? Double(string? value) => value is null ? null : double.Parse(value, CultureInfo.InvariantCulture);

    /// <summary>"K=V;K2=V2" as a dictionary (a key without "=" gets an empty value).</summary>
    private static Dictionary<string, string?> Pairs(string? value) => (value ?? "")
        .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(pair => pair.Split('=', 2))
        .ToDictionary(pair => pair[0], pair => (string?)(pair.Length > 1 ? pair[1] : ""), StringComparer.Ordinal);

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Packages.props")))
            {
                return dir.FullName;
            }
        }

        return Environment.CurrentDirectory;
    }
}
