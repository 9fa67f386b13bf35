using System.Diagnostics;
using System.Globalization;
using System.Text;
using Worker.Bench;

// Macro benchmarks of the worker. Normally started by scripts/bench.sh (which builds, starts a broker and runs the
// micro benchmarks first); options and BENCH_* variables are listed in BenchSettings and scripts/bench.sh.
if (args is ["raw-cycle", ..])
{
    return await RawCycle.RunAsync(args[1..]);
}

// Stopped by a signal (scripts/bench.sh passes its own on): the children go too, not only the bench.
using var onTerm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, _ => CpuAccounting.KillLive());
using var onInt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, _ => CpuAccounting.KillLive());
var settings = BenchSettings.Parse(args);
var wall = Stopwatch.StartNew();
Directory.CreateDirectory(settings.WorkDir);
Directory.CreateDirectory(settings.OutDir);

void Log(string message) =>
    Console.Error.WriteLine($"[bench {wall.Elapsed.TotalSeconds,6:0.0}s] {message}");

foreach (var dll in new[] { settings.HostDll, settings.RuntimeDll, settings.SimulatorDll })
{
    if (!File.Exists(dll))
    {
        Console.Error.WriteLine($"missing {dll}: build Release first (scripts/bench.sh does)");
        return 2;
    }
}

var commit = Environment.GetEnvironmentVariable("BENCH_COMMIT") ?? Git("rev-parse --short HEAD") ?? "unknown";
var stack = new Stack(settings);
var pipeline = new PipelineBench(settings, stack, Log);
string? brokerVersion = null;
BrokerClient? broker = null;
var needsBroker = settings.Scenarios.Overlaps(["pipeline", "scaling", "memory", "admission", "ttft"]);
if (needsBroker)
{
    broker = await BrokerClient.ConnectAsync(settings.RabbitUri, "bench");
    brokerVersion = broker.Connection.ServerProperties?.TryGetValue("version", out var v) == true && v is byte[] bytes ? Encoding.UTF8.GetString(bytes) : null;
}

var report = new BenchReport
{
    Commit = commit,
    Date = DateTimeOffset.UtcNow,
    Machine = MachineInfo.Detect(brokerVersion),
    Mode = (settings.Quick ? "quick (BENCH_QUICK=1)" : "full")
        + (settings.WorkerEnvironment.Count > 0 ? $", worker environment {string.Join(' ', settings.WorkerEnvironment.Select(p => $"{p.Key}={p.Value}"))}" : "")
        + (settings.RuntimeEnvironment.Count > 0 ? $", runtime environment {string.Join(' ', settings.RuntimeEnvironment.Select(p => $"{p.Key}={p.Value}"))}" : "")
        + (Environment.GetEnvironmentVariable("BENCH_BROKER_ERL_ARGS") is { Length: > 0 } erl ? $", broker Erlang arguments {erl}" : ""),
    Rounds = settings.Rounds,
    RuntimeMode = settings.RuntimeMode,
    HopPath = settings.HopPath,
    ScalingLatencyMs = settings.ScalingLatencyMs,
};
Log($"commit {commit}, {report.Machine.Cores} cores, {report.Mode}, {settings.Rounds} rounds, logs in {settings.WorkDir}");

async Task Scenario(string name, Func<Task> run)
{
    if (!settings.Scenarios.Contains(name))
    {
        return;
    }

    var started = wall.Elapsed;
    var cpu = CpuAccounting.Take();
    try
    {
        await run();
    }
    catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or IOException or HttpRequestException
        or RabbitMQ.Client.Exceptions.OperationInterruptedException or RabbitMQ.Client.Exceptions.BrokerUnreachableException or Worker.Connector.ConnectorException)
    {
        Log($"{name} FAILED: {ex.Message}");
        report.Errors.Add($"{name}: {ex.Message}");
    }

    var foreign = CpuAccounting.ForeignPercent(cpu, CpuAccounting.Take());
    report.OtherLoadPercent[name] = Math.Round(foreign, 1);
    Log($"{name} took {(wall.Elapsed - started).TotalSeconds:0} s; other work on the machine used {foreign:0}% of it meanwhile");
}

await Scenario("hop", async () => report.Hop = await new HopBench(settings, stack, Log).RunAsync());
await Scenario("pipeline", async () => report.Pipeline = await pipeline.RunPipelineAsync(broker!));
await Scenario("scaling", async () => report.Scaling = await pipeline.RunScalingAsync(broker!));
await Scenario("memory", async () => report.Memory = await new MemoryBench(settings, stack, pipeline, Log).RunAsync(broker!));
await Scenario("ttft", async () => report.Ttft = await new TtftBench(settings, stack, Log).RunAsync(broker!));
await Scenario("admission", async () => report.Admission = await new AdmissionBench(settings, stack, Log).RunAsync(broker!));

if (broker is not null)
{
    await broker.DisposeAsync();
}

if (settings.MicroDir is { } microDir)
{
    report.Micro = BenchReport.ReadMicro(microDir);
}

report.WallSeconds = (Environment.GetEnvironmentVariable("BENCH_STARTED_AT") is { } startedAt
    ? DateTimeOffset.UtcNow.ToUnixTimeSeconds() - long.Parse(startedAt, CultureInfo.InvariantCulture)
    : wall.Elapsed.TotalSeconds);
report.EvaluateTargets();

var markdown = report.ToMarkdown();
var json = report.ToJson();
var stamp = $"{report.Date:yyyy-MM-dd-HHmm}-{commit}";
await File.WriteAllTextAsync(Path.Combine(settings.OutDir, "latest.md"), markdown);
await File.WriteAllTextAsync(Path.Combine(settings.OutDir, "latest.json"), json);
await File.WriteAllTextAsync(Path.Combine(settings.OutDir, $"{stamp}.md"), markdown);
await File.WriteAllTextAsync(Path.Combine(settings.OutDir, $"{stamp}.json"), json);
Console.WriteLine(markdown);
Log($"wrote {Path.Combine(settings.OutDir, "latest.md")}, latest.json and {stamp}.md/.json");
return report.Errors.Count == 0 ? 0 : 1;

static string? Git(string arguments)
{
    try
    {
        var info = new ProcessStartInfo("git", arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var git = Process.Start(info)!;
        var output = git.StandardOutput.ReadToEnd().Trim();
        git.WaitForExit();
        return git.ExitCode == 0 && output.Length > 0 ? output : null;
    }
    catch (System.ComponentModel.Win32Exception)
    {
        return null;
    }
}
