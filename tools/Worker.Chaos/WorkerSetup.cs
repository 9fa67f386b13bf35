using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using Worker.Host.Configuration;
using Worker.Host.Publishing;

namespace Worker.Chaos;

/// <summary>
/// One worker deployment under test: uniquely named queues on the broker, a socket path, the upstream, and the
/// environment a real <c>Worker.Host</c> (and, with <see cref="EmbeddedRuntime"/> false, a real <c>Worker.Runtime</c>)
/// process is started with. Settings are the documented environment keys (<c>RabbitMq__Uri</c>, ...).
/// </summary>
public sealed class WorkerSetup
{
    public WorkerSetup(Uri brokerUri, string prefix, Uri simulatorBase, string workDirectory)
    {
        ArgumentNullException.ThrowIfNull(brokerUri);
        ArgumentNullException.ThrowIfNull(simulatorBase);
        BrokerUri = brokerUri;
        Prefix = prefix;
        SimulatorBase = simulatorBase;
        WorkDirectory = workDirectory;
        Directory.CreateDirectory(workDirectory);

        // sun_path holds 107 bytes: keep the socket short and out of deep temp directories.
        SocketPath = Path.Combine("/tmp", $"wchaos-{Convert.ToHexString(RandomNumberGenerator.GetBytes(5)).ToLowerInvariant()}.sock");
    }

    public Uri BrokerUri { get; }

    public string Prefix { get; }

    public Uri SimulatorBase { get; }

    public string WorkDirectory { get; }

    public string SocketPath { get; }

    public string JobsQueue => Prefix + ".jobs";

    public string DeadLetterExchange => Prefix + ".dlx";

    public string DeadLetterQueue => Prefix + ".dead";

    public string ResultsExchange => Prefix + ".results";

    public string ResultsQueue => Prefix + ".results";

    public int Concurrency { get; init; } = 8;

    public bool EmbeddedRuntime { get; init; } = true;

    public string ApiKey { get; init; } = "";

    /// <summary>Further worker settings (environment form, e.g. <c>Resilience__MaxRetryAttempts</c>), applied last.</summary>
    public Dictionary<string, string?> Extra { get; } = new(StringComparer.Ordinal);

    /// <summary>Further runtime settings for the external runtime process.</summary>
    public Dictionary<string, string?> RuntimeExtra { get; } = new(StringComparer.Ordinal);

    public RabbitMqOptions RabbitMqOptions => new()
    {
        Uri = BrokerUri.ToString(),
        JobsQueue = JobsQueue,
        DeadLetterExchange = DeadLetterExchange,
        DeadLetterQueue = DeadLetterQueue,
        ResultsExchange = ResultsExchange,
        ResultsQueue = ResultsQueue,
    };

    /// <summary>The upstream host:port, the only one the runtime may call.</summary>
    public string AllowedHost => $"{SimulatorBase.Host}:{SimulatorBase.Port}";

    public string[] Queues => [JobsQueue, DeadLetterQueue, ResultsQueue];

    public string[] Exchanges => [DeadLetterExchange, ResultsExchange];

    /// <summary>Declares the worker's topology exactly as the worker does (so both agree on the queue arguments).</summary>
    public async Task DeclareTopologyAsync(IConnection connection, CancellationToken cancellationToken = default)
    {
        var declarer = new TopologyDeclarer(Options.Create(RabbitMqOptions));
        await declarer.DeclareAsync(connection, cancellationToken);
    }

    public Dictionary<string, string?> WorkerEnvironment(string clientName)
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["RabbitMq__Uri"] = BrokerUri.ToString(),
            ["RabbitMq__JobsQueue"] = JobsQueue,
            ["RabbitMq__DeadLetterExchange"] = DeadLetterExchange,
            ["RabbitMq__DeadLetterQueue"] = DeadLetterQueue,
            ["RabbitMq__ResultsExchange"] = ResultsExchange,
            ["RabbitMq__ResultsQueue"] = ResultsQueue,
            ["RabbitMq__PublishTimeout"] = "00:00:10",
            ["RabbitMq__ClientName"] = clientName,
            ["Worker__Concurrency"] = Concurrency.ToString(CultureInfo.InvariantCulture),
            ["Worker__DrainTimeout"] = "00:00:05",
            ["Runtime__Embedded"] = EmbeddedRuntime ? "true" : "false",
            ["Runtime__SocketPath"] = SocketPath,
            ["Runtime__AllowedHosts__0"] = AllowedHost,
            ["Llm__BaseUrl"] = new Uri(SimulatorBase, "v1").ToString(),
            ["Llm__ApiKey"] = ApiKey,
            ["Llm__UseSimulator"] = "false",
            ["Resilience__BaseDelay"] = "00:00:00.100",
            ["Resilience__MaxDelay"] = "00:00:02",
            ["Resilience__MaxRetryAfter"] = "00:00:02",
            ["Resilience__AttemptTimeout"] = "00:00:30",
            ["Resilience__TotalTimeout"] = "00:02:00",
            ["Resilience__BreakerBreakDuration"] = "00:00:02",
            ["Logging__LogLevel__Default"] = "Information",
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
            ["OPENAI_API_KEY"] = null,
            ["USE_SIMULATOR"] = null,
        };
        foreach (var (key, value) in Extra)
        {
            environment[key] = value;
        }

        return environment;
    }

    public Dictionary<string, string?> RuntimeEnvironment()
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["Runtime__SocketPath"] = SocketPath,
            ["Runtime__AllowedHosts__0"] = AllowedHost,
            ["Runtime__DrainTimeout"] = "00:00:05",
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
            ["VASTAR_SOCKET_PATH"] = null,
            ["VASTAR_USE_TCP"] = null,
        };
        foreach (var (key, value) in RuntimeExtra)
        {
            environment[key] = value;
        }

        return environment;
    }

    /// <summary>Starts a worker process (<c>Worker.Host.dll run</c>); output goes to <c>worker-N.log</c> in the work directory.</summary>
    public ManagedProcess StartWorker(int instance, IReadOnlyDictionary<string, string?>? extraEnvironment = null)
    {
        var environment = WorkerEnvironment($"chaos-worker-{instance}");
        if (extraEnvironment is not null)
        {
            foreach (var (key, value) in extraEnvironment)
            {
                environment[key] = value;
            }
        }

        return ManagedProcess.Start($"worker#{instance}", BuildOutput.WorkerHostDll, ["run"], environment,
            Path.Combine(WorkDirectory, $"worker-{instance}.log"));
    }

    /// <summary>Starts an external runtime process (<c>Worker.Runtime.dll --socket PATH</c>) and waits until it accepts connections.</summary>
    public async Task<ManagedProcess> StartRuntimeAsync(int instance, CancellationToken cancellationToken = default)
    {
        var process = ManagedProcess.Start($"runtime#{instance}", BuildOutput.RuntimeDll, ["--socket", SocketPath], RuntimeEnvironment(),
            Path.Combine(WorkDirectory, $"runtime-{instance}.log"));
        await WaitUntilListeningAsync(process, SocketPath, cancellationToken);
        return process;
    }

    /// <summary>Waits (30 s at most) until <paramref name="socketPath"/> accepts a connection from a fresh process.</summary>
    public static async Task WaitUntilListeningAsync(ManagedProcess process, string socketPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(process);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < until && !process.HasExited)
        {
            if (File.Exists(socketPath))
            {
                using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.Unix, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Unspecified);
                try
                {
                    await probe.ConnectAsync(new System.Net.Sockets.UnixDomainSocketEndPoint(socketPath), cancellationToken);
                    return;
                }
                catch (System.Net.Sockets.SocketException)
                {
                    // A stale file of the previous instance, or not listening yet.
                }
            }

            await Task.Delay(50, cancellationToken);
        }

        var tail = process.Tail();
        var exitCode = process.ExitCode;
        await process.DisposeAsync();
        throw new InvalidOperationException($"{process.Name} did not accept connections on {socketPath} within 30 s (exit code {exitCode?.ToString(CultureInfo.InvariantCulture) ?? "none: still running"}):\n{tail}");
    }
}
