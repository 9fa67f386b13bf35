using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Worker.Host.Contracts;
using Worker.Host.Publishing;
using Worker.Simulator;
using Worker.Simulator.Options;
using Worker.Testing;

namespace Worker.Chaos;

/// <summary>The size of one cluster run. Defaults: the CI size.</summary>
public sealed record ClusterRunOptions
{
    public int Jobs { get; init; } = 1_500;

    /// <summary>Worker:Concurrency of each of the two workers.</summary>
    public int Concurrency { get; init; } = 4;

    /// <summary>
    /// Whether to freeze a node (a partition without a close) as the third fault (the cluster needs a short
    /// net_ticktime for it, docs/deployment.md "RabbitMQ cluster").
    /// </summary>
    public bool Pause { get; init; } = true;

    /// <summary>How long a killed node stays down, and how long a paused node stays paused.</summary>
    public TimeSpan Outage { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Time to first token of the simulated endpoint: with the concurrency, sets the pace of the run.</summary>
    public int TimeToFirstTokenMs { get; init; } = 700;

    /// <summary>RabbitMq:Heartbeat of the workers (the default).</summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest stall allowed for a worker (a behaviour bound, not a performance target).</summary>
    public TimeSpan MaxStall { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan Deadline { get; init; } = TimeSpan.FromMinutes(4);

    public string? WorkDirectory { get; init; }

    public Action<string>? Log { get; init; }
}

/// <summary>Markers of the cluster section in docs/reliability.md: the chaos report rewrites the file and keeps this block.</summary>
public static class ClusterSection
{
    public const string Begin = "<!-- cluster-run: written by scripts/chaos.sh --cluster -->";
    public const string End = "<!-- /cluster-run -->";

    /// <summary><paramref name="document"/> with its cluster section replaced by <paramref name="section"/> (appended when absent).</summary>
    public static string Replace(string document, string section)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(section);
        var start = document.IndexOf(Begin, StringComparison.Ordinal);
        var end = document.IndexOf(End, StringComparison.Ordinal);
        return start >= 0 && end > start
            ? document[..start] + section.TrimEnd('\n') + document[(end + End.Length)..]
            : document.TrimEnd('\n') + "\n\n" + section;
    }

    /// <summary>The cluster section of <paramref name="document"/>, or empty.</summary>
    public static string Extract(string document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var start = document.IndexOf(Begin, StringComparison.Ordinal);
        var end = document.IndexOf(End, StringComparison.Ordinal);
        return start >= 0 && end > start ? document[start..(end + End.Length)] + "\n" : "";
    }
}

/// <summary>What a cluster run measured, and what it found wrong.</summary>
public sealed record ClusterReport(
    int Jobs,
    int SucceededIds,
    int FailedResults,
    int Duplicates,
    int UnmarkedDuplicates,
    IReadOnlyList<string> Faults,
    IReadOnlyDictionary<string, TimeSpan> LongestStall,
    IReadOnlyList<string> Failovers,
    IReadOnlyList<string> Violations,
    TimeSpan Elapsed,
    string WorkDirectory)
{
    public bool Passed => Violations.Count == 0;

    /// <summary>The "Cluster run" section of docs/reliability.md, between markers so the chaos report keeps it.</summary>
    public string ToMarkdown(ClusterRunOptions options, string commit, string command, string load)
    {
        ArgumentNullException.ThrowIfNull(options);
        var md = new StringBuilder();
        md.AppendLine(ClusterSection.Begin);
        md.AppendLine("## Cluster run");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"Written by `{command}` on {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, commit `{commit}`; machine load (1/5/15 min) {load} on 2 shared cores. Result: **{(Passed ? "PASSED" : "FAILED")}**.");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"A 3-node RabbitMQ cluster (the local image, one Docker network, shared Erlang cookie, `join_cluster`), quorum queues, {Jobs:N0} jobs, two real worker processes (C = {options.Concurrency} each, `RabbitMq:Hosts` = all three nodes, heartbeat {options.Heartbeat.TotalSeconds:0} s, embedded runtime) against the simulator ({options.TimeToFirstTokenMs} ms to the first token). In order, each for {options.Outage.TotalSeconds:0} s: the node leading the jobs queue is killed (`docker kill`) and started again; the node worker #1 is connected to is killed and started again; the node worker #2 is connected to is frozen (`docker pause`: its connections stay open and silent) and unpaused. A worker's stall is the longest gap between the `completed_at` of two of its successive results while the faults go on (bound: {options.MaxStall.TotalSeconds:0} s).");
        md.AppendLine();
        md.AppendLine("| Figure | Measured |");
        md.AppendLine("|---|---|");
        md.AppendLine(CultureInfo.InvariantCulture, $"| Jobs with a succeeded result | {SucceededIds:N0} of {Jobs:N0} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| Failed results | {FailedResults} |");
        md.AppendLine(CultureInfo.InvariantCulture, $"| Duplicate results (all marked redelivered) | {Duplicates} ({UnmarkedDuplicates} unmarked) |");
        foreach (var fault in Faults)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| Fault | {fault} |");
        }

        foreach (var failover in Failovers)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| Failover | {failover} |");
        }

        foreach (var (worker, stall) in LongestStall)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| Longest stall, {worker} | {stall.TotalSeconds:0.0} s |");
        }

        md.AppendLine(CultureInfo.InvariantCulture, $"| Run time (after the cluster formed) | {Elapsed.TotalSeconds:0} s |");
        foreach (var violation in Violations)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"| VIOLATION | {violation} |");
        }

        md.AppendLine();
        md.AppendLine("Reproduce: `scripts/chaos.sh --cluster` (full size); `dotnet test tests/Worker.Chaos.Tests --filter ClusterFailoverTests` (CI size).");
        md.AppendLine(ClusterSection.End);
        return md.ToString();
    }

    public string ToText()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"  jobs {Jobs}, succeeded ids {SucceededIds}, failed results {FailedResults}, duplicates {Duplicates} (unmarked {UnmarkedDuplicates}), {Elapsed.TotalSeconds:0} s");
        foreach (var fault in Faults)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  fault: {fault}");
        }

        foreach (var failover in Failovers)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  failover: {failover}");
        }

        foreach (var (worker, stall) in LongestStall)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  longest stall of {worker}: {stall.TotalSeconds:0.0} s");
        }

        foreach (var violation in Violations)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  VIOLATION: {violation}");
        }

        return text.ToString();
    }
}

/// <summary>
/// Two real worker processes (each <c>RabbitMq:Hosts</c> = all three nodes) against a 3-node cluster with quorum
/// queues, while: the node leading the jobs queue is killed and started again; then the node a worker is connected to;
/// then a worker's node is paused (silent, no close) and unpaused. Checks: every job exactly one succeeded result
/// (more only when marked redelivered), no failed result, and each worker's longest stall (the longest gap between
/// two of its results, from their <c>completed_at</c>, while faults were going on) within the bound. Each worker
/// publishes results to its own exchange, bound to the one results queue, so a result says which worker made it.
/// </summary>
public static partial class ClusterRun
{
    private const string Model = "gpt-4o-mini";

    public static async Task<ClusterReport> RunAsync(RabbitMqClusterFixture cluster, ClusterRunOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(options);
        _ = BuildOutput.WorkerHostDll;
        var log = options.Log ?? (static _ => { });
        var clock = Stopwatch.StartNew();
        var workDirectory = options.WorkDirectory ?? Path.Combine(Path.GetTempPath(), $"worker-cluster-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
        Directory.CreateDirectory(workDirectory);
        var violations = new List<string>();
        var faults = new List<string>();
        var failovers = new List<string>();

        await using var simulator = await SimulatorServer.StartAsync(
            new SimulatorOptions { Latency = new LatencyOptions { TimeToFirstTokenMs = options.TimeToFirstTokenMs, TimePerTokenMs = 2 } },
            cancellationToken: cancellationToken);
        var prefix = $"cluster.{Guid.NewGuid():N}"[..20];
        var setup = new WorkerSetup(cluster.AmqpUri, prefix, simulator.BaseAddress, workDirectory) { Concurrency = options.Concurrency };
        setup.Extra["Llm__Model"] = Model;
        setup.Extra["RabbitMq__Heartbeat"] = options.Heartbeat.ToString("c", CultureInfo.InvariantCulture);
        for (var i = 0; i < cluster.Hosts.Count; i++)
        {
            setup.Extra[$"RabbitMq__Hosts__{i}"] = cluster.Hosts[i];
        }

        var rabbit = setup.RabbitMqOptions;
        foreach (var host in cluster.Hosts)
        {
            rabbit.Hosts.Add(host);
        }

        var factory = RabbitMqConnectionProvider.CreateFactory(rabbit);
        factory.ClientProvidedName = "cluster-test";
        await using var connection = await RabbitMqConnectionProvider.ConnectAsync(factory, rabbit, cancellationToken);
        await setup.DeclareTopologyAsync(connection, cancellationToken);
        var collector = new ClusterCollector();
        await using var resultsChannel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        await collector.StartAsync(resultsChannel, setup.ResultsQueue, cancellationToken);

        var jobs = Enumerable.Range(1, options.Jobs).Select(i => $"job-{i:D6}").ToList();
        await PublishAsync(connection, setup.JobsQueue, jobs, cancellationToken);
        log($"cluster run: {jobs.Count} jobs published; two workers, C={options.Concurrency} each, heartbeat {options.Heartbeat.TotalSeconds:0} s");

        var workers = new List<ManagedProcess>();
        try
        {
            for (var w = 1; w <= 2; w++)
            {
                // Its own results exchange, bound to the shared results queue: the exchange of a result names its worker.
                workers.Add(setup.StartWorker(w, new Dictionary<string, string?>
                {
                    ["RabbitMq__ResultsExchange"] = $"{prefix}.results.w{w}",

                    // Each worker embeds its own runtime: its own socket.
                    ["Runtime__SocketPath"] = setup.SocketPath.Replace(".sock", $"-{w}.sock", StringComparison.Ordinal),
                }));
            }

            foreach (var worker in workers)
            {
                // From the log file: the other worker may have said it before we started listening to this one.
                var until = DateTime.UtcNow + TimeSpan.FromSeconds(60);
                while (!ReadLog(worker).Contains("Consuming ", StringComparison.Ordinal))
                {
                    if (DateTime.UtcNow > until || worker.HasExited)
                    {
                        throw new InvalidOperationException($"{worker.Name} did not start consuming:\n{worker.Tail()}");
                    }

                    await Task.Delay(100, cancellationToken);
                }
            }

            await WaitForProgressAsync(collector, options.Jobs / 10, options.Deadline - clock.Elapsed, cancellationToken);
            var faultsStarted = DateTimeOffset.UtcNow;

            // 1. The node that leads the jobs queue.
            var leader = await cluster.LeaderOfAsync(setup.JobsQueue, cancellationToken);
            await KillAndMeasureAsync(cluster, leader, workers, $"killed the jobs queue leader {leader}", options, faults, failovers, log, cancellationToken);

            // 2. The node worker #1 is connected to now.
            var own = cluster.NodeOnPort(CurrentPort(workers[0]) ?? cluster.Nodes[0].Port);
            await KillAndMeasureAsync(cluster, own, workers, $"killed worker#1's node {own}", options, faults, failovers, log, cancellationToken);

            // 3. A partition without a close: worker #2's node is frozen.
            if (options.Pause)
            {
                var paused = cluster.NodeOnPort(CurrentPort(workers[1]) ?? cluster.Nodes[1].Port);

                // When the frozen node leads the jobs or results queue, every worker waits for the cluster to declare it
                // down and elect a new leader: the report says so, since that wait is the cluster's, not the worker's.
                var led = new List<string>();
                foreach (var (queue, name) in new[] { (setup.JobsQueue, "jobs"), (setup.ResultsQueue, "results") })
                {
                    if ((await cluster.LeaderOfAsync(queue, cancellationToken)).NodeName == paused.NodeName)
                    {
                        led.Add(name);
                    }
                }

                var lines = workers.Select(RecoveredCount).ToList();
                await paused.PauseAsync(cancellationToken);
                faults.Add($"paused worker#2's node {paused} for {options.Outage.TotalSeconds:0} s (queues it led: {(led.Count == 0 ? "none" : string.Join(", ", led))})");
                log($"cluster run: {faults[^1]}");
                var detected = await WaitForRecoveryAsync(workers, lines, options.Outage, cancellationToken);
                await paused.UnpauseAsync(cancellationToken);
                failovers.Add(detected.Count == 0
                    ? $"pause: no worker reconnected within {options.Outage.TotalSeconds:0} s of the pause"
                    : string.Join("; ", detected.Select(d => $"pause: {d.Worker} reconnected {d.After.TotalSeconds:0.0} s after the pause (heartbeat detection + reconnect)")));
            }

            var faultsEnded = DateTimeOffset.UtcNow;
            if (collector.SucceededIds >= options.Jobs)
            {
                // Faults on an idle cluster prove nothing about stalls: the run must be sized to outlast them.
                violations.Add($"every job was answered before the faults ended: raise Jobs or the latency");
            }

            log($"cluster run: faults over, {collector.SucceededIds} of {options.Jobs} answered");

            await WaitForProgressAsync(collector, options.Jobs, options.Deadline - clock.Elapsed, cancellationToken, violations);

            // Straggling duplicates (results of jobs redelivered after the pause) arrive late: give them a moment.
            await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);

            // Each worker's control queue must have followed it through every recovery: a cancel request published after
            // the run has to reach both (an unknown id: each worker logs that it heard it and remembers it).
            var probe = $"cancel-probe-{Guid.NewGuid():N}"[..24];
            await PublishCancelAsync(factory, cluster, rabbit.ControlExchange, probe, failovers, violations, cancellationToken);
            foreach (var worker in workers)
            {
                var heard = await WaitForLogAsync(worker, $"Cancel request for job {probe}", TimeSpan.FromSeconds(10), cancellationToken);
                failovers.Add(heard ? $"control: {worker.Name} heard a cancel request published after the run" : $"control: {worker.Name} did not hear a cancel request within 10 s");
                if (!heard)
                {
                    violations.Add($"{worker.Name} did not hear a cancel request published after the run (its control queue was not recovered)");
                }
            }

            var results = collector.Snapshot();
            var stalls = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
            foreach (var group in results.GroupBy(r => r.Worker))
            {
                // Every gap that begins while the faults go on counts in full, even when it ends after them.
                var times = group.Select(r => r.CompletedAt).Where(t => t >= faultsStarted).Order().ToList();
                var longest = TimeSpan.Zero;
                var previous = faultsStarted;
                foreach (var time in times)
                {
                    if (previous <= faultsEnded)
                    {
                        longest = Max(longest, time - previous);
                    }

                    previous = time;
                }

                stalls[group.Key] = longest;
                if (longest > options.MaxStall)
                {
                    violations.Add($"{group.Key} stalled {longest.TotalSeconds:0.0} s (bound {options.MaxStall.TotalSeconds:0} s)");
                }
            }

            var byId = results.GroupBy(r => r.Id).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
            var missing = jobs.Where(j => !byId.TryGetValue(j, out var list) || !list.Any(r => r.Succeeded)).ToList();
            if (missing.Count > 0)
            {
                violations.Add($"{missing.Count} job(s) without a succeeded result, e.g. {string.Join(", ", missing.Take(5))}");
            }

            var failed = results.Count(r => !r.Succeeded);
            if (failed > 0)
            {
                violations.Add($"{failed} failed result(s)");
            }

            var duplicates = byId.Values.Sum(list => Math.Max(0, list.Count - 1));
            var unmarked = byId.Values.Sum(list => Math.Max(0, list.Count(r => !r.Redelivered) - 1));
            if (unmarked > 0)
            {
                violations.Add($"{unmarked} duplicate result(s) not marked redelivered");
            }

            if (workers.Any(w => w.HasExited))
            {
                violations.Add("a worker process exited on its own");
            }

            return new ClusterReport(jobs.Count, byId.Values.Count(l => l.Any(r => r.Succeeded)), failed, duplicates, unmarked, faults, stalls, failovers,
                violations, clock.Elapsed, workDirectory);
        }
        finally
        {
            foreach (var worker in workers)
            {
                await worker.DisposeAsync();
            }

            await collector.DisposeAsync();
            await DeleteAsync(connection, setup, prefix);
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    private static async Task KillAndMeasureAsync(
        RabbitMqClusterFixture cluster, ClusterNode node, List<ManagedProcess> workers, string what, ClusterRunOptions options,
        List<string> faults, List<string> failovers, Action<string> log, CancellationToken cancellationToken)
    {
        var affected = workers.Where(w => CurrentPort(w) == node.Port).ToList();
        var lines = workers.Select(RecoveredCount).ToList();
        await node.KillAsync(cancellationToken);
        faults.Add($"{what} for {options.Outage.TotalSeconds:0} s (workers on it: {(affected.Count == 0 ? "none" : string.Join(", ", affected.Select(w => w.Name)))})");
        log($"cluster run: {faults[^1]}");
        var recovered = await WaitForRecoveryAsync(workers, lines, options.Outage, cancellationToken);
        foreach (var (worker, after) in recovered)
        {
            failovers.Add($"kill: {worker} reconnected to another node {after.TotalSeconds:0.0} s after the kill");
        }

        if (affected.Count > 0 && recovered.Count == 0)
        {
            failovers.Add($"kill: no worker reconnected within {options.Outage.TotalSeconds:0} s");
        }

        _ = cluster;
        await node.StartAsync(cancellationToken);
        log($"cluster run: {node} back");
    }

    /// <summary>Watches the workers' logs for a new "connection recovered" line, for at most <paramref name="window"/>.</summary>
    private static async Task<List<(string Worker, TimeSpan After)>> WaitForRecoveryAsync(
        List<ManagedProcess> workers, List<int> before, TimeSpan window, CancellationToken cancellationToken)
    {
        var found = new List<(string, TimeSpan)>();
        var seen = new HashSet<int>();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < window)
        {
            for (var i = 0; i < workers.Count; i++)
            {
                if (!seen.Contains(i) && RecoveredCount(workers[i]) > before[i])
                {
                    seen.Add(i);
                    found.Add((workers[i].Name, clock.Elapsed));
                }
            }

            await Task.Delay(100, cancellationToken);
        }

        return found;
    }

    private static int RecoveredCount(ManagedProcess worker) => ReadLog(worker).Split('\n').Count(l => l.Contains("connection recovered", StringComparison.Ordinal));

    /// <summary>The host port of the node the worker was last connected to (from its log), or null before it connected.</summary>
    private static int? CurrentPort(ManagedProcess worker)
    {
        var matches = NodeInLog().Matches(ReadLog(worker));
        return matches.Count == 0 ? null : int.Parse(matches[^1].Groups["port"].Value, CultureInfo.InvariantCulture);
    }

    private static string ReadLog(ManagedProcess worker)
    {
        using var stream = new FileStream(worker.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    [GeneratedRegex(@"\(node 127\.0\.0\.1:(?<port>\d+)\)")]
    private static partial Regex NodeInLog();

    private static async Task WaitForProgressAsync(ClusterCollector collector, int succeeded, TimeSpan budget, CancellationToken cancellationToken, List<string>? violations = null)
    {
        var clock = Stopwatch.StartNew();
        while (collector.SucceededIds < succeeded)
        {
            if (clock.Elapsed > budget)
            {
                violations?.Add($"deadline reached with {collector.SucceededIds} of {succeeded} jobs answered");
                return;
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>
    /// Publishes a cancel request, mandatory, through each node in turn until one routes it. A node that rejoined
    /// after a pause can keep a stale view of the bindings: its peers declared the workers' new control queues while
    /// they took it for down, and Mnesia does not merge the two views (its log: <c>inconsistent_database,
    /// running_partitioned_network</c>; seen both for a moment and for good). Such a node answers NO_ROUTE, which says
    /// nothing about the workers' queues: that is noted, and only a request no node could route for 10 s is a violation.
    /// </summary>
    private static async Task PublishCancelAsync(
        ConnectionFactory factory, RabbitMqClusterFixture cluster, string exchange, string id, List<string> notes, List<string> violations, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var refused = new SortedSet<string>(StringComparer.Ordinal);
        while (true)
        {
            foreach (var node in cluster.Nodes)
            {
                try
                {
                    await using var connection = await factory.CreateConnectionAsync([new AmqpTcpEndpoint("127.0.0.1", node.Port)], cancellationToken);
                    await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true), cancellationToken);
                    await channel.BasicPublishAsync(exchange, CancelRequest.RoutingKey, true, new BasicProperties { ContentType = "application/json" },
                        ControlSerializer.Serialize(new CancelRequest { Id = id }), cancellationToken);
                    if (refused.Count > 0)
                    {
                        notes.Add($"control: not routed through {string.Join(", ", refused)} after the run (a rejoined node's stale bindings); routed through {node.NodeName}");
                    }

                    return;
                }
                catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.PublishReturnException or RabbitMQ.Client.Exceptions.AlreadyClosedException
                    or RabbitMQ.Client.Exceptions.OperationInterruptedException or RabbitMQ.Client.Exceptions.BrokerUnreachableException)
                {
                    refused.Add($"{node.NodeName} ({ex.GetType().Name})");
                }
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                violations.Add($"no node routed a cancel request for 10 s after the run: {string.Join(", ", refused)}");
                return;
            }

            await Task.Delay(500, cancellationToken);
        }
    }

    private static async Task<bool> WaitForLogAsync(ManagedProcess worker, string text, TimeSpan window, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (!ReadLog(worker).Contains(text, StringComparison.Ordinal))
        {
            if (clock.Elapsed > window)
            {
                return false;
            }

            await Task.Delay(100, cancellationToken);
        }

        return true;
    }

    private static async Task PublishAsync(IConnection connection, string queue, List<string> ids, CancellationToken cancellationToken)
    {
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(true, true, new ThrottlingRateLimiter(512)), cancellationToken);
        var pending = new List<Task>(256);
        foreach (var id in ids)
        {
            var body = Encoding.UTF8.GetBytes(HostileCorpus.Valid(id, $"Cluster job {id}: one short sentence"));
            pending.Add(channel.BasicPublishAsync("", queue, true, new BasicProperties { Persistent = true, MessageId = id, ContentType = "application/json" }, body, cancellationToken).AsTask());
            if (pending.Count == 256)
            {
                await Task.WhenAll(pending);
                pending.Clear();
            }
        }

        await Task.WhenAll(pending);
    }

    private static async Task DeleteAsync(IConnection connection, WorkerSetup setup, string prefix)
    {
        try
        {
            await using var channel = await connection.CreateChannelAsync();
            foreach (var queue in setup.Queues)
            {
                await channel.QueueDeleteAsync(queue);
            }

            foreach (var exchange in setup.Exchanges.Concat([$"{prefix}.results.w1", $"{prefix}.results.w2"]))
            {
                await channel.ExchangeDeleteAsync(exchange);
            }
        }
        catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.OperationInterruptedException or RabbitMQ.Client.Exceptions.AlreadyClosedException)
        {
            // The cluster is torn down next anyway.
        }
    }

    /// <summary>Consumes the results queue; a result's exchange names its worker.</summary>
    private sealed class ClusterCollector : IAsyncDisposable
    {
        private readonly ConcurrentDictionary<string, byte> _seenMessages = new(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, byte> _succeeded = new(StringComparer.Ordinal);
        private readonly ConcurrentQueue<Observed> _results = new();
        private IChannel? _channel;

        public int SucceededIds => _succeeded.Count;

        public List<Observed> Snapshot() => [.. _results];

        public async Task StartAsync(IChannel channel, string queue, CancellationToken cancellationToken)
        {
            _channel = channel;
            await channel.BasicQosAsync(0, 512, false, cancellationToken);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += async (_, delivery) =>
            {
                // Our own redeliveries (after a recovery of this connection) carry the same message id: keep one.
                if (delivery.BasicProperties.MessageId is not { } messageId || _seenMessages.TryAdd(messageId, 0))
                {
                    using var json = JsonDocument.Parse(delivery.Body);
                    var root = json.RootElement;
                    var observed = new Observed(
                        root.GetProperty("id").GetString()!,
                        root.GetProperty("status").GetString() == "succeeded",
                        root.GetProperty("redelivered").GetBoolean(),
                        delivery.Exchange.EndsWith(".w1", StringComparison.Ordinal) ? "worker#1" : "worker#2",
                        root.GetProperty("completed_at").GetDateTimeOffset());
                    _results.Enqueue(observed);
                    if (observed.Succeeded)
                    {
                        _succeeded.TryAdd(observed.Id, 0);
                    }
                }

                try
                {
                    await channel.BasicAckAsync(delivery.DeliveryTag, false);
                }
                catch (Exception ex) when (ex is RabbitMQ.Client.Exceptions.AlreadyClosedException or RabbitMQ.Client.Exceptions.OperationInterruptedException)
                {
                }
            };
            await channel.BasicConsumeAsync(queue, false, consumer, cancellationToken);
        }

        public ValueTask DisposeAsync()
        {
            _channel = null;
            return ValueTask.CompletedTask;
        }
    }

    private sealed record Observed(string Id, bool Succeeded, bool Redelivered, string Worker, DateTimeOffset CompletedAt);
}
