using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Networks;
using RabbitMQ.Client;

namespace Worker.Testing;

/// <summary>
/// A 3-node RabbitMQ cluster from <c>RABBITMQ_IMAGE</c> (the local image): one Docker network, a shared Erlang
/// cookie, nodes 2 and 3 <c>join_cluster</c> node 1. Each node's AMQP port is bound to a fixed host port, so a node
/// killed and started again keeps its address, as a production node would. Nodes can be killed (<c>docker kill</c>:
/// the process dies, the host port closes), started, paused (<c>docker pause</c>: a partition without a close, the
/// TCP connection stays up and silent) and unpaused. Every container and the network are removed on dispose.
/// Not an xunit collection fixture on purpose: the cluster lives for one test (a minute to form) and is torn down.
/// </summary>
public sealed class RabbitMqClusterFixture : IAsyncDisposable
{
    public const int NodeCount = 3;

    /// <summary>
    /// Erlang's <c>net_ticktime</c> of every node (default 60). A frozen node (<c>docker pause</c>: its connections stay
    /// open and silent) is declared down by its peers after 3/4 to 5/4 of it; until then quorum queues led from it
    /// elect no new leader and metadata updates wait on it, so every worker stalls, whichever node it uses (measured
    /// with the default: 22–35 s for a 15–20 s pause). 4 s bounds that at 3–5 s. With 5 s (3.75–6.25 s), a pause of the
    /// node leading the jobs and results queues stalled both workers 10.0–10.3 s: down after ~6 s, Ra's election up to
    /// 3.2 s more, then one job (docs/reliability.md).
    /// </summary>
    public const int NetTickTimeSeconds = 4;

    /// <summary>
    /// <c>pause_minority</c>: with a tick time shorter than a pause, the frozen node is a real partition when it wakes;
    /// the minority side stops its listeners until it sees the majority again and then rejoins (with the default,
    /// <c>ignore</c>, the cluster would stay split).
    /// </summary>
    public const string PartitionHandling = "pause_minority";

    /// <summary>
    /// Erlang's <c>net_setuptime</c> (default 7 s): how long a node may wait on each step of connecting to a peer.
    /// Once a frozen node is declared down, the next message to one of its processes (a channel asking the quorum
    /// queue leader it still knows of, to recover a worker's consumer) makes the sender reconnect; the frozen node's
    /// kernel accepts the TCP connection and the handshake then hangs for this long (seen: a consumer recovery blocked
    /// 8 s). 2 s bounds that.
    /// </summary>
    public const int NetSetupTimeSeconds = 2;

    private static readonly string ErlangArguments =
        $"-kernel net_ticktime {NetTickTimeSeconds} -kernel net_setuptime {NetSetupTimeSeconds} -rabbit cluster_partition_handling {PartitionHandling}";
    private static readonly TimeSpan NodeReadyTimeout = TimeSpan.FromSeconds(120);
    private readonly string _runId = Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
    private readonly List<ClusterNode> _nodes = [];
    private INetwork? _network;

    private RabbitMqClusterFixture()
    {
    }

    public IReadOnlyList<ClusterNode> Nodes => _nodes;

    /// <summary><c>amqp://guest:guest@127.0.0.1:{node 1 port}/</c>: credentials and vhost; the nodes come from <see cref="Hosts"/>.</summary>
    public Uri AmqpUri => new($"amqp://guest:guest@127.0.0.1:{_nodes[0].Port}/");

    /// <summary>Every node as <c>127.0.0.1:port</c>, the form of <c>RabbitMq:Hosts</c>.</summary>
    public IReadOnlyList<string> Hosts => [.. _nodes.Select(n => $"127.0.0.1:{n.Port}")];

    public static async Task<RabbitMqClusterFixture> StartAsync(Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        if (TestEnvironment.ExternalRabbitMqUri is not null)
        {
            throw new InvalidOperationException(
                $"The cluster test starts its own 3 nodes from {TestEnvironment.RabbitMqImageVariable}: unset {TestEnvironment.RabbitMqUriVariable}.");
        }

        var cluster = new RabbitMqClusterFixture();
        try
        {
            await cluster.FormAsync(log ?? (static _ => { }), cancellationToken);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private async Task FormAsync(Action<string> log, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var image = TestEnvironment.RabbitMqImage;
        var cookie = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        _network = new NetworkBuilder().WithName($"worker-cluster-{_runId}").Build();
        await _network.CreateAsync(cancellationToken);
        for (var i = 1; i <= NodeCount; i++)
        {
            var name = $"rmq{i}-{_runId}";
            var port = FreeTcpPort.Pick();
            var container = new ContainerBuilder(image)
                .WithName(name)
                .WithHostname(name)
                .WithNetwork(_network)
                .WithNetworkAliases(name)
                .WithPortBinding(port, 5672)
                .WithLabel(RabbitMqBrokerFixture.ContainerLabel, "rabbitmq-cluster")

                // The image's RabbitMQ (3.10) still reads the cookie from the environment (with a deprecation warning).
                .WithEnvironment("RABBITMQ_ERLANG_COOKIE", cookie)

                // The cluster settings docs/deployment.md recommends for failover within 10 s (same for the CLI tools,
                // whose distribution connection must tick at the same rate), as command-line app settings so they
                // work with both the local image and the official one (rabbitmq.conf: net_ticktime,
                // cluster_partition_handling).
                .WithEnvironment("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", ErlangArguments)
                .WithEnvironment("RABBITMQ_CTL_ERL_ARGS", $"-kernel net_ticktime {NetTickTimeSeconds} -kernel net_setuptime {NetSetupTimeSeconds}")
                .WithWaitStrategy(Wait.ForUnixContainer().UntilMessageIsLogged("Server startup complete"))
                .Build();
            _nodes.Add(new ClusterNode(i, $"rabbit@{name}", name, port, container));
        }

        await Task.WhenAll(_nodes.Select(n => n.Container.StartAsync(cancellationToken)));
        log($"cluster: 3 nodes up in {clock.Elapsed.TotalSeconds:0.0} s");

        // One at a time: two nodes joining at once can race on the cluster's membership table.
        foreach (var node in _nodes.Skip(1))
        {
            await node.ExecAsync(["sh", "-c", $"rabbitmqctl -q stop_app && rabbitmqctl -q join_cluster {_nodes[0].NodeName} && rabbitmqctl -q start_app"], cancellationToken);
        }

        var status = await _nodes[0].ExecAsync(["rabbitmqctl", "-q", "cluster_status", "--formatter", "json"], cancellationToken);
        using var json = JsonDocument.Parse(status);
        var running = json.RootElement.GetProperty("running_nodes").GetArrayLength();
        if (running != NodeCount)
        {
            throw new InvalidOperationException($"cluster formed with {running} running nodes, expected {NodeCount}: {status}");
        }

        foreach (var node in _nodes)
        {
            await node.WaitUntilAcceptingAsync(NodeReadyTimeout, cancellationToken);
        }

        log($"cluster: formed ({string.Join(", ", _nodes.Select(n => $"{n.NodeName} on :{n.Port}"))}) in {clock.Elapsed.TotalSeconds:0.0} s");
    }

    /// <summary>The node that leads quorum queue <paramref name="queue"/> now (asked of a running node).</summary>
    public async Task<ClusterNode> LeaderOfAsync(string queue, CancellationToken cancellationToken = default)
    {
        foreach (var asked in _nodes.Where(n => n.State == NodeState.Running))
        {
            try
            {
                var output = await asked.ExecAsync(["rabbitmqctl", "-q", "list_queues", "name", "leader", "--formatter", "json"], cancellationToken);
                using var json = JsonDocument.Parse(output);
                foreach (var row in json.RootElement.EnumerateArray())
                {
                    if (row.GetProperty("name").GetString() == queue && row.GetProperty("leader").GetString() is { } leader)
                    {
                        return _nodes.Single(n => n.NodeName == leader);
                    }
                }
            }
            catch (InvalidOperationException)
            {
                // That node cannot answer right now: ask another.
            }
        }

        throw new InvalidOperationException($"no running node knows the leader of {queue}");
    }

    /// <summary>Writes each node's log (stdout and stderr since it was created) to <c>rmqN.log</c> in <paramref name="directory"/>.</summary>
    public async Task SaveLogsAsync(string directory, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(directory);
        foreach (var node in _nodes)
        {
            var (stdout, stderr) = await node.Container.GetLogsAsync(timestampsEnabled: false, ct: cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(directory, $"rmq{node.Index}.log"), stdout + stderr, cancellationToken);
        }
    }

    /// <summary>The node listening on host port <paramref name="port"/>.</summary>
    public ClusterNode NodeOnPort(int port) => _nodes.Single(n => n.Port == port);

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            if (node.State == NodeState.Paused)
            {
                // A paused container cannot be removed.
                await Docker.RunAsync(["unpause", node.ContainerName], CancellationToken.None, throwOnError: false);
            }

            await node.Container.DisposeAsync();
        }

        if (_network is not null)
        {
            await _network.DeleteAsync();
            await _network.DisposeAsync();
        }
    }
}

public enum NodeState
{
    Running,
    Killed,
    Paused,
}

/// <summary>One node of <see cref="RabbitMqClusterFixture"/>.</summary>
public sealed class ClusterNode(int index, string nodeName, string containerName, int port, IContainer container)
{
    public int Index { get; } = index;

    /// <summary>Erlang node name, <c>rabbit@rmqN-run</c>.</summary>
    public string NodeName { get; } = nodeName;

    public string ContainerName { get; } = containerName;

    /// <summary>Host port of its AMQP listener (fixed across kill and start).</summary>
    public int Port { get; } = port;

    public NodeState State { get; private set; } = NodeState.Running;

    internal IContainer Container { get; } = container;

    /// <summary>SIGKILL, like a node crashing or its machine dying; its connections are reset.</summary>
    public async Task KillAsync(CancellationToken cancellationToken = default)
    {
        await Docker.RunAsync(["kill", ContainerName], cancellationToken);
        State = NodeState.Killed;
    }

    /// <summary>Starts a killed node again and waits until it accepts AMQP connections (it rejoins its cluster).</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await Docker.RunAsync(["start", ContainerName], cancellationToken);
        State = NodeState.Running;
        await WaitUntilAcceptingAsync(TimeSpan.FromSeconds(120), cancellationToken);
    }

    /// <summary>Freezes every process of the node: connections stay open and go silent (a partition without a close).</summary>
    public async Task PauseAsync(CancellationToken cancellationToken = default)
    {
        await Docker.RunAsync(["pause", ContainerName], cancellationToken);
        State = NodeState.Paused;
    }

    public async Task UnpauseAsync(CancellationToken cancellationToken = default)
    {
        await Docker.RunAsync(["unpause", ContainerName], cancellationToken);
        State = NodeState.Running;
    }

    /// <summary>Runs a command in the container; throws with its output when it fails.</summary>
    public async Task<string> ExecAsync(IList<string> command, CancellationToken cancellationToken = default)
    {
        var result = await Container.ExecAsync(command, cancellationToken);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{ContainerName}: `{string.Join(' ', command)}` exited {result.ExitCode}: {result.Stderr}{result.Stdout}");
        }

        return result.Stdout;
    }

    internal async Task WaitUntilAcceptingAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory
        {
            Uri = new Uri($"amqp://guest:guest@127.0.0.1:{Port}/"),
            AutomaticRecoveryEnabled = false,
            RequestedConnectionTimeout = TimeSpan.FromSeconds(3),
            ClientProvidedName = "cluster-readiness",
        };
        var until = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < until)
        {
            try
            {
                await using var connection = await factory.CreateConnectionAsync(cancellationToken);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                last = ex;
                await Task.Delay(250, cancellationToken);
            }
        }

        throw new TimeoutException($"{NodeName} (:{Port}) did not accept AMQP within {timeout.TotalSeconds:0} s: {last?.Message}", last);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{NodeName} (:{Port})");
}

/// <summary>The docker CLI, for what Testcontainers does not offer (kill with SIGKILL, pause).</summary>
internal static class Docker
{
    public static async Task RunAsync(IEnumerable<string> arguments, CancellationToken cancellationToken, bool throwOnError = true)
    {
        var info = new ProcessStartInfo("docker") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("docker did not start");
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        _ = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0 && throwOnError)
        {
            throw new InvalidOperationException($"docker {string.Join(' ', info.ArgumentList)} exited {process.ExitCode}: {await stderr}");
        }
    }
}
