using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Worker.Bench;

public sealed record MachineInfo(int Cores, string Cpu, double MemoryGiB, string Os, string Dotnet, string? Broker)
{
    public static MachineInfo Detect(string? brokerVersion)
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?"
            : "?";
        var memKiB = File.Exists("/proc/meminfo")
            ? long.Parse(File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture)
            : 0;
        var os = File.Exists("/etc/os-release")
            ? File.ReadLines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?.Split('=', 2)[1].Trim('"') ?? RuntimeInformation.OSDescription
            : RuntimeInformation.OSDescription;
        return new MachineInfo(Environment.ProcessorCount, cpu, Math.Round(memKiB / 1024.0 / 1024.0, 1), os, RuntimeInformation.FrameworkDescription, brokerVersion);
    }
}

public sealed record MicroRow(string Benchmark, string Parameters, double MeanNs, double? AllocatedBytes);

public sealed record TargetCheck(string Figure, string Target, string Measured, bool? Met, string Note);

public sealed class BenchReport
{
    public required string Commit { get; init; }
    public required DateTimeOffset Date { get; init; }
    public required MachineInfo Machine { get; init; }
    public required string Mode { get; init; }
    public required int Rounds { get; init; }
    public required string RuntimeMode { get; init; }

    public string HopPath { get; init; } = "stream";
    public double WallSeconds { get; set; }

    /// <summary>/proc/loadavg when the macro benchmarks started (1, 5, 15 min).</summary>
    public string LoadAverageAtStart { get; init; } = File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
    public List<HopRow>? Hop { get; set; }
    public List<PipelineRow>? Pipeline { get; set; }
    public List<ScalingRow>? Scaling { get; set; }
    public int ScalingLatencyMs { get; init; }
    public MemoryResult? Memory { get; set; }
    public List<AdmissionRow>? Admission { get; set; }
    public List<TtftRow>? Ttft { get; set; }
    public List<MicroRow>? Micro { get; set; }
    public List<TargetCheck> Targets { get; } = [];

    /// <summary>Per scenario: % of the machine's CPU used by processes that are not the bench's (noise).</summary>
    public Dictionary<string, double> OtherLoadPercent { get; } = [];
    public List<string> Errors { get; } = [];

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public void EvaluateTargets()
    {
        Targets.Clear();
        if (Hop?.FirstOrDefault(r => r.Concurrency == 1) is { } c1)
        {
            var added = c1.AddedP50Micros;
            Targets.Add(new TargetCheck("1. runtime hop: added p50 at c=1", "≤ 60 µs", $"{added.Format("0")} µs",
                added.IsEmpty ? null : added.Median <= 60, $"direct p50 {c1.Direct.P50Micros.Median:0} µs, via runtime {c1.Runtime.P50Micros.Median:0} µs"));
        }

        if (Hop?.FirstOrDefault(r => r.Concurrency == 64) is { } c64)
        {
            var ratio = c64.ThroughputRatio;
            Targets.Add(new TargetCheck("1. runtime hop: throughput b/a at c=64", "≥ 0.75", ratio.Format("0.00"),
                ratio.IsEmpty ? null : ratio.Median >= 0.75, $"{c64.Runtime.RequestsPerSecond.Median:0} vs {c64.Direct.RequestsPerSecond.Median:0} req/s"));
        }

        if (Pipeline?.FirstOrDefault(r => r.Concurrency == 64) is { } p64)
        {
            Targets.Add(new TargetCheck("2. drain: worker / raw broker cycle at C=64", "≥ 0.5", p64.Ratio.Format("0.00"),
                p64.Ratio.IsEmpty ? null : p64.Ratio.Median >= 0.5, $"{p64.PipelineJobsPerSecond.Median:0} vs {p64.RawJobsPerSecond.Median:0} jobs/s"));
            Targets.Add(new TargetCheck("2. drain: worker CPU per job at C=64", "≤ 250 µs", $"{p64.PipelineCpu.Worker:0} µs",
                double.IsNaN(p64.PipelineCpu.Worker) ? null : p64.PipelineCpu.Worker <= 250, "worker process incl. its embedded runtime; broker and simulator not counted"));
        }

        if (Scaling is { Count: > 0 })
        {
            var worst = Scaling.MinBy(r => r.Efficiency.Median)!;
            Targets.Add(new TargetCheck($"3. latency-bound efficiency, L = {ScalingLatencyMs} ms, C ≤ 256", "≥ 0.95 at every C",
                string.Join(", ", Scaling.Select(r => $"C={r.Concurrency}: {r.Efficiency.Median:0.000}")),
                Scaling.All(r => r.Efficiency.Median >= 0.95), $"worst C={worst.Concurrency}: {worst.JobsPerSecond.Median:0.0} of {worst.IdealJobsPerSecond:0.0} jobs/s"));
        }

        if (Ttft?.FirstOrDefault(r => r.Concurrency == 1) is { } t1)
        {
            Targets.Add(new TargetCheck("6. time to first token added by worker + runtime, p50 at C=1", "≤ 5 ms", $"{t1.AddedP50Ms:0.0} ms",
                t1.AddedP50Ms <= 5, $"p50 {t1.P50Ms:0.0} ms vs {t1.DirectP50Ms:0.0} ms direct (HttpClient) for {t1.ConfiguredMs} ms configured"));
        }

        if (Admission is { Count: > 0 })
        {
            Targets.Add(new TargetCheck("5. admission: throughput / what the binding limit allows", "≥ 0.85 (1 and 3 workers)",
                string.Join(", ", Admission.Select(r => $"{r.Workers} worker(s): {r.Efficiency:0.00}")), Admission.All(r => r.Efficiency >= 0.85), "RPM 6000, TPM 540 k, 1 s burst"));
            Targets.Add(new TargetCheck("5. admission: 429s / all requests", "≤ 10 %, 0 failed",
                string.Join(", ", Admission.Select(r => $"{r.Workers} worker(s): {r.RateLimitedShare:P1}, {r.Failed} failed")),
                Admission.All(r => r.RateLimitedShare <= 0.10 && r.Failed == 0), "retry-after sent on half of the 429s"));
        }

        if (Memory is { Checkpoints.Count: >= 2 } memory)
        {
            var first = memory.Checkpoints[0];
            var last = memory.Checkpoints[^1];
            Targets.Add(new TargetCheck($"4. RSS after {last.Jobs:N0} vs {first.Jobs:N0} jobs", "flat (≤ 1.10)", $"{memory.FlatRatio:0.00}",
                memory.FlatRatio <= 1.10, $"{first.RssMiB:0} → {last.RssMiB:0} MiB"));
        }
    }

    public string ToMarkdown()
    {
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(c, $"# Worker benchmarks — {Date:yyyy-MM-dd HH:mm} UTC, commit `{Commit}`");
        md.AppendLine();
        md.AppendLine(c, $"Machine: {Machine.Cores} cores ({Machine.Cpu}), {Machine.MemoryGiB} GiB, {Machine.Os}, {Machine.Dotnet}, RabbitMQ {Machine.Broker ?? "?"}.");
        md.AppendLine(c, $"Mode: {Mode}; every figure is median (min–max) over {Rounds} rounds of one run; wall time {WallSeconds / 60:0.0} min.");
        if (OtherLoadPercent.Count > 0)
        {
            md.AppendLine(c, $"Other work on the machine (CPU not used by the bench, its children or its broker): {string.Join(", ", OtherLoadPercent.Select(kv => $"{kv.Key} {kv.Value:0}%"))} of {Machine.Cores} cores; load average at start {LoadAverageAtStart}.");
        }
        md.AppendLine();

        if (Targets.Count > 0)
        {
            md.AppendLine("## Targets");
            md.AppendLine();
            md.AppendLine("| Figure | Target | Measured | Met | Detail |");
            md.AppendLine("|---|---|---|---|---|");
            foreach (var t in Targets)
            {
                md.AppendLine(c, $"| {t.Figure} | {t.Target} | {t.Measured} | {(t.Met switch { true => "yes", false => "**no**", null => "n/a" })} | {t.Note} |");
            }

            md.AppendLine();
        }

        if (Hop is { Count: > 0 })
        {
            md.AppendLine(c, $"## 1. Runtime hop (streamed chat completion, 32 tokens, zero simulated latency; runtime {(RuntimeMode == "inproc" ? "in the bench process" : "as a separate process")}; body {(HopPath == "whole" ? "whole, in the JSON envelope" : "as binary stream frames, the worker's path")})");
            md.AppendLine();
            md.AppendLine("| c | (a) direct req/s | (b) via runtime req/s | b/a | (a) p50 µs | (b) p50 µs | added p50 µs | (b) runtime-reported p50 µs | (a) p99 µs | (b) p99 µs |");
            md.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
            foreach (var r in Hop)
            {
                md.AppendLine(c, $"| {r.Concurrency} | {r.Direct.RequestsPerSecond.Format("0")} | {r.Runtime.RequestsPerSecond.Format("0")} | {r.ThroughputRatio.Format("0.00")} | {r.Direct.P50Micros.Format("0")} | {r.Runtime.P50Micros.Format("0")} | {r.AddedP50Micros.Format("0")} | {r.RuntimeServerP50Micros.Format("0")} | {r.Direct.P99Micros.Format("0")} | {r.Runtime.P99Micros.Format("0")} |");
            }

            md.AppendLine();
            md.AppendLine("CPU per request (µs, median over rounds; where the time goes):");
            md.AppendLine();
            md.AppendLine("| c | (a) total | (a) caller HttpClient | (a) simulator | (b) total | (b) caller RuntimeClient | (b) runtime | (b) simulator |");
            md.AppendLine("|---|---|---|---|---|---|---|---|");
            foreach (var r in Hop)
            {
                md.AppendLine(c, $"| {r.Concurrency} | {r.Direct.CpuMicrosPerRequest.Median:0} | {r.Direct.CallerCpuMicros.Median:0} | {r.Direct.SimulatorCpuMicros.Median:0} | {r.Runtime.CpuMicrosPerRequest.Median:0} | {r.Runtime.CallerCpuMicros.Median:0} | {(RuntimeMode == "inproc" ? "(in caller)" : r.Runtime.RuntimeCpuMicros.Median.ToString("0", c))} | {r.Runtime.SimulatorCpuMicros.Median:0} |");
            }

            md.AppendLine();
        }

        if (Pipeline is { Count: > 0 })
        {
            md.AppendLine("## 2. Drain: worker vs raw broker cycle (N jobs preloaded, then the consumer starts; zero simulated latency)");
            md.AppendLine();
            md.AppendLine("Steady drain rate from result N/10 to the last; CPU per job of each process over the same window. The raw cycle is the best plain RabbitMQ.Client 7 loop for the same broker work (bench/Worker.Bench/RawCycle.cs).");
            md.AppendLine();
            md.AppendLine("| C | worker jobs/s | raw cycle jobs/s | worker / raw | jobs per round (worker / raw) | result size | CPU µs/job worker side: worker + broker + simulator + bench | CPU µs/job raw side: raw loop + broker + bench |");
            md.AppendLine("|---|---|---|---|---|---|---|---|");
            foreach (var r in Pipeline)
            {
                md.AppendLine(c, $"| {r.Concurrency} | {r.PipelineJobsPerSecond.Format("0")} | {r.RawJobsPerSecond.Format("0")} | {r.Ratio.Format("0.00")} | {r.PipelineJobs} / {r.RawJobs} | {r.ResultBytes:0} B | {Cpu(r.PipelineCpu, true)} | {Cpu(r.RawCpu, false)} |");
            }

            md.AppendLine();
        }

        if (Scaling is { Count: > 0 })
        {
            md.AppendLine(c, $"## 3. Latency-bound scaling (simulated time to complete L = {ScalingLatencyMs} ms)");
            md.AppendLine();
            md.AppendLine("| C | jobs/round | ideal C/L jobs/s | measured jobs/s | efficiency | worker duration p50 ms | slot cycle C/throughput ms | CPU µs/job worker + broker + simulator + bench |");
            md.AppendLine("|---|---|---|---|---|---|---|---|");
            foreach (var r in Scaling)
            {
                md.AppendLine(c, $"| {r.Concurrency} | {r.Jobs} | {r.IdealJobsPerSecond:0.0} | {r.JobsPerSecond.Format("0.0")} | {r.Efficiency.Format("0.000")} | {r.WorkerDurationMs.Format("0")} | {r.SlotCycleMs.Format("0.0")} | {Cpu(r.Cpu, true)} |");
            }

            md.AppendLine();
        }

        if (Memory is { } m)
        {
            md.AppendLine("## 4. Worker memory (separate process, /proc/<pid>/status)");
            md.AppendLine();
            md.AppendLine("| Figure | Value |");
            md.AppendLine("|---|---|");
            foreach (var p in new[] { m.Peak, m.PeakNotStreamed })
            {
                md.AppendLine(c, $"| Peak RSS (VmHWM), C = {p.Concurrency}, {p.Jobs} jobs with {p.ContentBytes / 1024:0} KiB answers, {(p.Streamed ? "streamed (worker default)" : "asked as one JSON body (stream: false)")}: {p.BodyBytes / 1024:0} KiB upstream body, {p.ResultBytes / 1024:0} KiB result | {p.PeakRssMiB:0} MiB (fresh worker idle: {p.IdleRssMiB:0} MiB) |");
            }
            foreach (var cp in m.Checkpoints)
            {
                md.AppendLine(c, $"| RSS after {cp.Jobs:N0} small jobs (C = 64, idle 3 s) | {cp.RssMiB:0} MiB (peak so far {cp.HwmMiB:0} MiB) |");
            }

            md.AppendLine(c, $"| RSS ratio last / first checkpoint | {m.FlatRatio:0.00} |");
            md.AppendLine();
        }

        if (Admission is { Count: > 0 })
        {
            md.AppendLine("## 5. Admission (workers with C = 32 each sharing one key; simulator RPM 6000 + TPM 540 k per key, 1 s burst, retry-after on half the 429s, 50 ms latency)");
            md.AppendLine();
            md.AppendLine("Baseline: the limit itself — one burst at once, then the refill rate, for the tokens the simulator charged. One run, side by side.");
            md.AppendLine();
            md.AppendLine("| workers | jobs | seconds (first → last answer) | the limit allows (s) | efficiency | 429s | 429 share | failed |");
            md.AppendLine("|---|---|---|---|---|---|---|---|");
            foreach (var r in Admission)
            {
                md.AppendLine(c, $"| {r.Workers} | {r.Jobs} | {r.Seconds:0.0} | {r.IdealSeconds:0.0} | {r.Efficiency:0.000} | {r.RateLimited} | {r.RateLimitedShare:P1} | {r.Failed} |");
            }

            md.AppendLine();
        }

        if (Ttft is { Count: > 0 })
        {
            md.AppendLine("## 6. Time to first token (streamed, 32 tokens at 2 ms; the results' own `ttft_ms` vs a plain HttpClient's first content chunk from the same simulator)");
            md.AppendLine();
            md.AppendLine("| C | jobs | configured ms | direct p50 ms | worker p50 ms | worker p95 ms | added p50 ms | worker CPU µs/streamed job |");
            md.AppendLine("|---|---|---|---|---|---|---|---|");
            foreach (var r in Ttft)
            {
                md.AppendLine(c, $"| {r.Concurrency} | {r.Jobs} | {r.ConfiguredMs} | {r.DirectP50Ms:0.0} | {r.P50Ms:0.0} | {r.P95Ms:0.0} | {r.AddedP50Ms:0.0} | {r.WorkerCpuMicrosPerJob:0} |");
            }

            md.AppendLine();
        }

        if (Micro is { Count: > 0 })
        {
            md.AppendLine(c, $"## 7. Micro (BenchmarkDotNet {(Mode.StartsWith("quick", StringComparison.Ordinal) ? "dry run: allocations exact, times indicative" : "ShortRun")}, in-process, MemoryDiagnoser)");
            md.AppendLine();
            md.AppendLine("| Benchmark | Params | Mean | Allocated/op |");
            md.AppendLine("|---|---|---|---|");
            foreach (var r in Micro)
            {
                md.AppendLine(c, $"| {r.Benchmark} | {r.Parameters} | {FormatNs(r.MeanNs)} | {FormatBytes(r.AllocatedBytes)} |");
            }

            md.AppendLine();
        }

        foreach (var error in Errors)
        {
            md.AppendLine(c, $"- ERROR: {error}");
        }

        return md.ToString();
    }

    private static string Cpu(JobCpu cpu, bool worker)
    {
        var c = CultureInfo.InvariantCulture;
        var broker = cpu.Broker > 0 ? cpu.Broker.ToString("0", c) : "?";
        return worker
            ? string.Create(c, $"{cpu.Total:0} = {cpu.Worker:0} + {broker} + {cpu.Simulator:0} + {cpu.Bench:0}")
            : string.Create(c, $"{cpu.Total:0} = {cpu.Worker:0} + {broker} + {cpu.Bench:0}");
    }

    private static string FormatNs(double ns) => ns switch
    {
        >= 1_000_000 => (ns / 1_000_000).ToString("0.00", CultureInfo.InvariantCulture) + " ms",
        >= 1_000 => (ns / 1_000).ToString("0.00", CultureInfo.InvariantCulture) + " µs",
        _ => ns.ToString("0.0", CultureInfo.InvariantCulture) + " ns",
    };

    private static string FormatBytes(double? bytes) => bytes switch
    {
        null => "?",
        >= 1024 * 1024 => (bytes.Value / 1024 / 1024).ToString("0.00", CultureInfo.InvariantCulture) + " MiB",
        >= 1024 => (bytes.Value / 1024).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.Value.ToString("0", CultureInfo.InvariantCulture) + " B",
    };

    /// <summary>Reads BenchmarkDotNet's JSON reports (*-report-full.json or *-report.json) from a directory.</summary>
    public static List<MicroRow> ReadMicro(string directory)
    {
        var rows = new List<MicroRow>();
        if (!Directory.Exists(directory))
        {
            return rows;
        }

        foreach (var file in Directory.EnumerateFiles(directory, "*-report-full.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            foreach (var b in doc.RootElement.GetProperty("Benchmarks").EnumerateArray())
            {
                var type = b.GetProperty("Type").GetString();
                var method = b.TryGetProperty("MethodTitle", out var title) && title.GetString() is { Length: > 0 } t ? t.Trim('\'') : b.GetProperty("Method").GetString();
                var parameters = b.TryGetProperty("Parameters", out var p) ? p.GetString() ?? "" : "";
                var mean = b.TryGetProperty("Statistics", out var s) && s.ValueKind == JsonValueKind.Object ? s.GetProperty("Mean").GetDouble() : double.NaN;
                double? allocated = b.TryGetProperty("Memory", out var m) && m.ValueKind == JsonValueKind.Object && m.TryGetProperty("BytesAllocatedPerOperation", out var a) && a.ValueKind == JsonValueKind.Number
                    ? a.GetDouble()
                    : null;
                rows.Add(new MicroRow($"{type}: {method}", parameters.Replace("&", ", ", StringComparison.Ordinal), mean, allocated));
            }
        }

        return rows;
    }
}
