using System.Globalization;
using System.Security.Cryptography;
using Worker.Connector.Client;
using Worker.Simulator;

namespace Worker.Chaos;

/// <summary>The outcome of <see cref="FuzzRun.RunAsync"/>: the fuzzer's figures, the runtime's, and every violation.</summary>
public sealed record FuzzRunResult(FuzzReport Report, int BaselineSockets, int SocketsAfter, long RuntimePeakRssBytes, IReadOnlyList<string> Violations, string RuntimeLog)
{
    public bool Passed => Violations.Count == 0;

    public string Summary =>
        Report.Summary + string.Create(CultureInfo.InvariantCulture,
            $"; runtime Unix sockets {BaselineSockets} before, {SocketsAfter} after; runtime peak RSS {RuntimePeakRssBytes / (1024 * 1024)} MiB");
}

/// <summary>
/// The IPC fuzz run against a real <c>Worker.Runtime</c> process (allowed to call only the in-process simulator):
/// the process must stay up, close every fuzz connection (its open sockets return to the baseline), log no error,
/// and keep serving a well-formed client the whole time.
/// </summary>
public static class FuzzRun
{
    /// <summary>Generous bound on the runtime's resident memory under fuzz: frames are at most 10 MiB, a few connections at once.</summary>
    public const long RssBoundBytes = 512L * 1024 * 1024;

    /// <summary>The runtime's idle, frame and write timeouts in this run, short so the hostile clients are closed in seconds.</summary>
    public static readonly TimeSpan ConnectionTimeout = TimeSpan.FromSeconds(2);

    public static async Task<FuzzRunResult> RunAsync(int frames, int seed, string? workDirectory = null, Action<string>? log = null,
        TimeSpan? budget = null, CancellationToken cancellationToken = default)
    {
        workDirectory ??= Path.Combine(Path.GetTempPath(), $"worker-fuzz-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{seed}");
        Directory.CreateDirectory(workDirectory);
        await using var simulator = await SimulatorServer.StartAsync(cancellationToken: cancellationToken);
        var socketPath = Path.Combine("/tmp", $"wfuzz-{Convert.ToHexString(RandomNumberGenerator.GetBytes(5)).ToLowerInvariant()}.sock");
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["Runtime__AllowedHosts__0"] = $"{simulator.BaseAddress.Host}:{simulator.BaseAddress.Port}",
            ["Runtime__UpstreamTimeout"] = "00:00:05",
            ["Runtime__IdleTimeout"] = ConnectionTimeout.ToString(),
            ["Runtime__FrameTimeout"] = ConnectionTimeout.ToString(),
            ["Runtime__WriteTimeout"] = ConnectionTimeout.ToString(),
            // Every rejected frame is a Warning by design; only errors (a crashed request or connection) matter here.
            ["Logging__LogLevel__Default"] = "Error",
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
            ["VASTAR_SOCKET_PATH"] = null,
            ["VASTAR_USE_TCP"] = null,
        };
        await using var runtime = ManagedProcess.Start("runtime(fuzz)", BuildOutput.RuntimeDll, ["--socket", socketPath], environment, Path.Combine(workDirectory, "runtime-fuzz.log"));
        await WorkerSetup.WaitUntilListeningAsync(runtime, socketPath, cancellationToken);

        // Warm up the upstream connection pool, then count the runtime's sockets with no client connected.
        await using (var warmUp = new RuntimeClient(new RuntimeClientOptions { SocketPath = socketPath, PoolSize = 1 }))
        {
            await warmUp.HealthCheckAsync(TimeSpan.FromSeconds(10), cancellationToken);
        }

        await Task.Delay(500, cancellationToken);
        var baseline = CountUnixSockets(runtime.Pid) ?? -1;
        runtime.SampleRss();
        var golden = Path.Combine(AppContext.BaseDirectory, "Vectors", "vastar-ipc-frames.json");
        var sampler = SampleAsync(runtime, cancellationToken);
        var report = await IpcFuzzer.RunAsync(new FuzzOptions
        {
            SocketPath = socketPath,
            GoldenFramesPath = golden,
            SimulatorBase = simulator.BaseAddress,
            Frames = frames,
            Seed = seed,
            Log = log,
            Budget = budget ?? TimeSpan.FromMinutes(10),
            RuntimeConnectionTimeout = ConnectionTimeout,
        }, cancellationToken);

        var violations = new List<string>();
        if (runtime.HasExited)
        {
            violations.Add($"the runtime process exited (code {runtime.ExitCode})");
        }

        // Every fuzz connection is closed by now; the well-formed client's pool closed when it was disposed.
        var after = -1;
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < until && !runtime.HasExited)
        {
            after = CountUnixSockets(runtime.Pid) ?? -1;
            if (after <= baseline + 2)
            {
                break;
            }

            await Task.Delay(200, cancellationToken);
        }

        if (after > baseline + 2)
        {
            violations.Add($"the runtime holds {after} Unix sockets after the run, {baseline} before (client connections leaked)");
        }

        if (!runtime.HasExited)
        {
            await using var client = new RuntimeClient(new RuntimeClientOptions { SocketPath = socketPath, PoolSize = 1 });
            // A fuzzed request that is still legitimately running (its deadline or Runtime:UpstreamTimeout not yet
            // reached) ends on its own: wait for idle, bounded by that timeout, before calling anything a leak.
            var health = await client.HealthCheckAsync(TimeSpan.FromSeconds(10), cancellationToken);
            var idleBy = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (health.ActiveRequests != 0 && DateTime.UtcNow < idleBy)
            {
                await Task.Delay(250, cancellationToken);
                health = await client.HealthCheckAsync(TimeSpan.FromSeconds(10), cancellationToken);
            }

            if (!health.Healthy || health.ActiveRequests != 0)
            {
                violations.Add($"after the run the runtime answers healthy={health.Healthy}, {health.ActiveRequests} requests active (expected healthy and idle)");
            }
        }

        if (report.FramesProcessed < frames)
        {
            violations.Add($"only {report.FramesProcessed} of {frames} frames were processed within the budget ({report.Elapsed.TotalSeconds:0} s)");
        }

        if (report.HungConnections > 0)
        {
            violations.Add($"{report.HungConnections} fuzz connection(s) were neither answered nor closed within the timeout");
        }

        if (report.RefusedConnections > 0)
        {
            violations.Add($"the runtime refused {report.RefusedConnections} connection(s) (its accept loop stalled)");
        }

        if (report.HostileRounds == 0 || report.HostileFailures > 0)
        {
            violations.Add($"hostile clients: {report.HostileRounds} round(s), {report.HostileFailures} not handled: {string.Join(" | ", report.Errors.Take(5))}");
        }

        if (report.UnreadableAnswers > 0)
        {
            violations.Add($"{report.UnreadableAnswers} answer(s) from the runtime were not valid frames");
        }

        if (report.WellFormedFailed > 0 || report.WellFormedOk == 0)
        {
            violations.Add($"the well-formed client failed {report.WellFormedFailed} time(s) ({report.WellFormedOk} ok): {string.Join(" | ", report.Errors.Take(5))}");
        }

        var runtimeLog = runtime.Tail(200);
        var errors = runtimeLog.Split('\n').Where(l => l.StartsWith("fail:", StringComparison.Ordinal) || l.StartsWith("crit:", StringComparison.Ordinal)).ToList();
        if (errors.Count > 0)
        {
            violations.Add($"the runtime logged {errors.Count} error(s), e.g. {errors[0]}");
        }

        runtime.SampleRss();
        if (runtime.PeakRssBytes > RssBoundBytes)
        {
            violations.Add($"the runtime's resident memory peaked at {runtime.PeakRssBytes / (1024 * 1024)} MiB (bound {RssBoundBytes / (1024 * 1024)} MiB)");
        }

        await runtime.StopAsync(TimeSpan.FromSeconds(10));
        try
        {
            await sampler;
        }
        catch (OperationCanceledException)
        {
        }

        return new FuzzRunResult(report, baseline, after, runtime.PeakRssBytes, violations, runtimeLog);
    }

    /// <summary>
    /// The process's open Unix sockets (its listener and client connections), by matching its descriptors' socket
    /// inodes against /proc/net/unix. Upstream TCP connections are left out: the hostile clients make tens of upstream
    /// calls at once, and the connections the HTTP pool keeps afterwards are not leaked client connections.
    /// </summary>
    private static int? CountUnixSockets(int pid)
    {
        try
        {
            var unix = File.ReadLines("/proc/net/unix").Skip(1)
                .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(fields => fields.Length >= 7)
                .Select(fields => fields[6])
                .ToHashSet(StringComparer.Ordinal);
            var count = 0;
            foreach (var fd in Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd"))
            {
                try
                {
                    if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("socket:[", StringComparison.Ordinal) && unix.Contains(target[8..^1]))
                    {
                        count++;
                    }
                }
                catch (IOException)
                {
                    // The descriptor closed while we looked.
                }
            }

            return count;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static async Task SampleAsync(ManagedProcess process, CancellationToken cancellationToken)
    {
        while (!process.HasExited && !cancellationToken.IsCancellationRequested)
        {
            process.SampleRss();
            await Task.Delay(250, cancellationToken);
        }
    }
}
