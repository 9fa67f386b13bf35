using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

// ShortRun (3 warm-ups, 3 iterations, 1 launch) in-process: no generated project to build, so the whole suite fits the
// bench budget. MemoryDiagnoser gives allocations per operation. Extra BenchmarkDotNet options pass through
// (--filter, --artifacts, ...). BENCH_QUICK=1 makes it a dry run (one iteration: allocations exact, times indicative).
var quick = Environment.GetEnvironmentVariable("BENCH_QUICK") is "1" or "true";
var job = quick ? Job.Dry.WithId("Dry-InProcess") : Job.ShortRun.WithId("ShortRun-InProcess");
var config = ManualConfig.CreateEmpty()
    .AddColumnProvider(DefaultColumnProviders.Instance)
    .AddLogger(BenchmarkDotNet.Loggers.ConsoleLogger.Default)
    .AddJob(job.WithToolchain(InProcessEmitToolchain.Instance))
    .AddDiagnoser(MemoryDiagnoser.Default)
    .AddExporter(JsonExporter.Full, MarkdownExporter.GitHub)
    .WithOptions(ConfigOptions.JoinSummary);

BenchmarkSwitcher.FromAssembly(typeof(Worker.Bench.Micro.FrameBenchmarks).Assembly).Run(args, config);
