using System.Globalization;
using Worker.Chaos;
using Worker.Testing;

// scripts/chaos.sh runs this. Usage:
//   Worker.Chaos chaos [--jobs N] [--concurrency C] [--fault-rate F] [--kills K] [--broker-restarts B]
//                      [--runtime-restarts R] [--poison P] [--seed S] [--deadline-minutes M] [--work-dir DIR]
//                      [--report docs/reliability.md --commit SHA --command "..."]
//   Worker.Chaos fuzz  [--frames N] [--seed S] [--work-dir DIR]
//   Worker.Chaos cluster [--jobs N] [--concurrency C] [--outage-seconds S] [--deadline-minutes M] [--work-dir DIR]
// Exit code 0: no violation; 1: violations; 2: usage or set-up error.
if (args.Length == 0 || args[0] is "-h" or "--help")
{
    Console.WriteLine("usage: Worker.Chaos chaos|fuzz [options]   (see scripts/chaos.sh --help)");
    return args.Length == 0 ? 2 : 0;
}

var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 1; i < args.Length; i++)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
    {
        await Console.Error.WriteLineAsync($"Worker.Chaos: unexpected argument '{args[i]}' (options take a value: --name value)");
        return 2;
    }

    options[args[i][2..]] = args[++i];
}

int Int(string name, int fallback) => options.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

void Log(string line) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {line}");

try
{
    switch (args[0])
    {
        case "chaos":
            {
                var chaos = new ChaosOptions
                {
                    Jobs = Int("jobs", 10_000),
                    Concurrency = Int("concurrency", 32),
                    FaultRate = options.TryGetValue("fault-rate", out var rate) ? double.Parse(rate, CultureInfo.InvariantCulture) : 0.1,
                    WorkerKills = Int("kills", 3),
                    BrokerRestarts = Int("broker-restarts", 1),
                    RuntimeRestarts = Int("runtime-restarts", 1),
                    PoisonMessages = Int("poison", 50),
                    MaxRetryAttempts = Int("max-retries", 6),
                    Seed = Int("seed", Random.Shared.Next(1, int.MaxValue)),
                    Deadline = TimeSpan.FromMinutes(Int("deadline-minutes", 30)),
                    WorkDirectory = options.GetValueOrDefault("work-dir"),
                    Log = Log,
                };
                var broker = new RabbitMqBrokerFixture();
                Log("starting the broker container (Testcontainers)");
                await broker.InitializeAsync();
                ChaosReport report;
                try
                {
                    report = await ChaosRun.RunAsync(broker, chaos, cancel.Token);
                }
                finally
                {
                    await broker.DisposeAsync();
                }

                Console.WriteLine($"Chaos run ({chaos.Jobs} jobs, C={chaos.Concurrency}, seed {chaos.Seed}):");
                Console.Write(report.ToText());
                Console.WriteLine($"  process logs: {report.WorkDirectory}");
                if (options.TryGetValue("report", out var path))
                {
                    var markdown = report.ToMarkdown(options.GetValueOrDefault("commit") ?? "unknown", DateTimeOffset.UtcNow,
                        options.GetValueOrDefault("command") ?? "scripts/chaos.sh");
                    // The cluster run's section (scripts/chaos.sh --cluster) is kept.
                    var cluster = File.Exists(path) ? ClusterSection.Extract(await File.ReadAllTextAsync(path)) : "";
                    await File.WriteAllTextAsync(path, cluster.Length == 0 ? markdown : markdown.TrimEnd('\n') + "\n\n" + cluster);
                    Console.WriteLine($"  wrote {path}");
                }

                return report.Passed ? 0 : 1;
            }

        case "fuzz":
            {
                var result = await FuzzRun.RunAsync(Int("frames", 100_000), Int("seed", Random.Shared.Next(1, int.MaxValue)), options.GetValueOrDefault("work-dir"), Log,
                    TimeSpan.FromMinutes(Int("budget-minutes", 10)), cancel.Token);
                Console.WriteLine("IPC fuzz: " + result.Summary);
                foreach (var (name, count) in result.Report.Cases.OrderByDescending(c => c.Value))
                {
                    Console.WriteLine($"  {name,-45} {count,9:N0}");
                }

                Console.WriteLine(result.Passed ? "PASSED" : "FAILED:\n  - " + string.Join("\n  - ", result.Violations));
                return result.Passed ? 0 : 1;
            }

        case "cluster":
            {
                var clusterOptions = new ClusterRunOptions
                {
                    Jobs = Int("jobs", 9_000),
                    Concurrency = Int("concurrency", 16),
                    Outage = TimeSpan.FromSeconds(Int("outage-seconds", 20)),
                    Deadline = TimeSpan.FromMinutes(Int("deadline-minutes", 15)),
                    WorkDirectory = options.GetValueOrDefault("work-dir"),
                    Log = Log,
                };
                Log("forming a 3-node RabbitMQ cluster (Testcontainers)");
                await using var cluster = await RabbitMqClusterFixture.StartAsync(Log, cancel.Token);
                var clusterReport = await ClusterRun.RunAsync(cluster, clusterOptions, cancel.Token);
                Console.WriteLine($"Cluster run ({clusterOptions.Jobs} jobs, 2 workers, C={clusterOptions.Concurrency} each, outages {clusterOptions.Outage.TotalSeconds:0} s):");
                Console.Write(clusterReport.ToText());
                Console.WriteLine($"  process logs: {clusterReport.WorkDirectory}");
                if (options.TryGetValue("report", out var clusterPath))
                {
                    var section = clusterReport.ToMarkdown(clusterOptions, options.GetValueOrDefault("commit") ?? "unknown",
                        options.GetValueOrDefault("command") ?? "scripts/chaos.sh --cluster", options.GetValueOrDefault("load") ?? "unknown");
                    var existing = File.Exists(clusterPath) ? await File.ReadAllTextAsync(clusterPath) : "";
                    await File.WriteAllTextAsync(clusterPath, ClusterSection.Replace(existing, section));
                    Console.WriteLine($"  wrote the cluster section of {clusterPath}");
                }

                return clusterReport.Passed ? 0 : 1;
            }

        default:
            await Console.Error.WriteLineAsync($"Worker.Chaos: unknown command '{args[0]}' (chaos, cluster or fuzz)");
            return 2;
    }
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    await Console.Error.WriteLineAsync("Worker.Chaos: cancelled");
    return 2;
}
catch (Exception ex) when (ex is InvalidOperationException or FileNotFoundException or TimeoutException or FormatException)
{
    await Console.Error.WriteLineAsync($"Worker.Chaos: {ex.Message}");
    return 2;
}
