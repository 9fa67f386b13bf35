using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Worker.Bench;

/// <summary>Starts the pieces a scenario needs as separate processes: simulators and workers.</summary>
public sealed class Stack
{
    private readonly BenchSettings _settings;
    private int _logCounter;

    public Stack(BenchSettings settings)
    {
        _settings = settings;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private string LogPath(string name) =>
        Path.Combine(_settings.WorkDir, $"{Interlocked.Increment(ref _logCounter):00}-{name}.log");

    /// <summary>The simulator executable with a latency model (0 = no timers at all).</summary>
    public async Task<(ChildProcess Process, Uri BaseAddress)> StartSimulatorAsync(string name, int timeToFirstTokenMs, int timePerTokenMs = 0, IEnumerable<string>? options = null)
    {
        var port = FreePort();
        var process = ChildProcess.Start(name, _settings.SimulatorDll,
            [
                "--urls", $"http://127.0.0.1:{port}",
                $"--Simulator:Latency:TimeToFirstTokenMs={timeToFirstTokenMs}",
                $"--Simulator:Latency:TimePerTokenMs={timePerTokenMs}",
                .. options ?? [],
            ],
            new Dictionary<string, string?> { ["Logging__LogLevel__Default"] = "Warning" },
            LogPath(name));
        await process.WaitForTcpAsync(port, TimeSpan.FromSeconds(30));
        return (process, new Uri($"http://127.0.0.1:{port}/"));
    }

    /// <summary>The runtime daemon (Worker.Runtime) on a Unix socket.</summary>
    public async Task<ChildProcess> StartRuntimeAsync(string socketPath)
    {
        var env = new Dictionary<string, string?>(_settings.RuntimeEnvironment) { ["Logging__LogLevel__Default"] = "Warning" };
        var process = ChildProcess.Start("runtime", _settings.RuntimeDll, ["--socket", socketPath], env, LogPath("runtime"));
        await process.WaitForUnixSocketAsync(socketPath, TimeSpan.FromSeconds(30));
        return process;
    }

    /// <summary>
    /// The worker executable (<c>Worker.Host.dll run</c>) with its embedded runtime, configured like production
    /// (repository appsettings.json) except for the broker, the queue names, the endpoint and the concurrency.
    /// Returns once it consumes the jobs queue.
    /// </summary>
    public async Task<ChildProcess> StartWorkerAsync(BrokerClient broker, Topology topology, Uri simulator, int concurrency, string name, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var process = StartWorker(topology, simulator, concurrency, name, extra);
        await broker.WaitForConsumerAsync(topology.JobsQueue, TimeSpan.FromSeconds(60), process);
        return process;
    }

    /// <summary><see cref="StartWorkerAsync"/> without waiting for it to consume.</summary>
    public ChildProcess StartWorker(Topology topology, Uri simulator, int concurrency, string name, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var socket = Path.Combine(Path.GetTempPath(), $"wb-{Guid.NewGuid():N}"[..14] + ".sock");
        var env = new Dictionary<string, string?>
        {
            ["RabbitMq__Uri"] = _settings.RabbitUri,
            ["RabbitMq__JobsQueue"] = topology.JobsQueue,
            ["RabbitMq__DeadLetterExchange"] = topology.DeadLetterExchange,
            ["RabbitMq__DeadLetterQueue"] = topology.DeadLetterQueue,
            ["RabbitMq__ResultsExchange"] = topology.ResultsExchange,
            ["RabbitMq__ResultsQueue"] = topology.ResultsQueue,
            ["Runtime__Embedded"] = "true",
            ["Runtime__SocketPath"] = socket,
            ["Llm__BaseUrl"] = new Uri(simulator, "v1").ToString(),
            ["Llm__UseSimulator"] = "false",
            ["Llm__ApiKey"] = "",
            ["Worker__Concurrency"] = concurrency.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Worker__Prefetch"] = "0",
            ["Logging__LogLevel__Default"] = "Warning",
        };
        foreach (var (key, value) in (extra ?? new Dictionary<string, string?>()).Concat(_settings.WorkerEnvironment))
        {
            env[key] = value;
        }

        return ChildProcess.Start(name, _settings.HostDll, ["run"], env, LogPath(name), _settings.RepoRoot);
    }

    /// <summary>The raw broker cycle (<see cref="RawCycle"/>) as its own process, consuming the side's jobs queue.</summary>
    public ChildProcess StartRawCycle(Topology topology, int resultBytes, string name) =>
        ChildProcess.Start(name, typeof(Stack).Assembly.Location,
            [
                "raw-cycle", "--rabbit", _settings.RabbitUri, "--queue", topology.JobsQueue, "--exchange", topology.ResultsExchange,
                "--mode", _settings.RawMode, "--prefetch", _settings.RawPrefetch.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--dispatch", _settings.RawDispatch.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--result-bytes", resultBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ],
            new Dictionary<string, string?>(), LogPath(name));

    /// <summary>Job bodies in our native form: <c>{"id","prompt"[,"params"]}</c>.</summary>
    public static byte[][] Jobs(string runId, int count, int? simTokens = null, bool? stream = null, string prompt = "What is the capital of France?")
    {
        var extra = (stream is { } s ? $",\"stream\":{(s ? "true" : "false")}" : "")
            + (simTokens is { } tokens ? $",\"params\":{{\"sim_tokens\":{tokens}}}" : "");
        var jobs = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            jobs[i] = Encoding.UTF8.GetBytes($"{{\"id\":\"{runId}-{i}\",\"prompt\":\"{prompt}\"{extra}}}");
        }

        return jobs;
    }
}
