using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using RabbitMQ.Client;
using Worker.Simulator;
using Worker.Simulator.Generation;
using Worker.Simulator.Options;
using Worker.Simulator.Stats;
using Worker.Testing;

namespace Worker.Chaos;

/// <summary>
/// The chaos run: valid jobs and poison messages on a fresh queue, a real worker process (and runtime process) against
/// a faulty simulator, SIGKILLs and restarts of the worker, the broker and the runtime at random points of the
/// progress, then the checks: every job has a succeeded result with the right content, duplicates only for redelivered
/// jobs and marked so, no failed result, exactly the poison dead-lettered with a reason, nothing left in the queue.
/// </summary>
public static class ChaosRun
{
    private const string Model = "gpt-4o-mini";
    private const int MaxUnexpectedExits = 5;
    private static readonly TimeSpan SettleTime = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(5);

    private enum ChaosEventKind
    {
        KillWorker,
        RestartBroker,
        RestartRuntime,
    }

    public static async Task<ChaosReport> RunAsync(RabbitMqBrokerFixture broker, ChaosOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(broker);
        ArgumentNullException.ThrowIfNull(options);
        if (options.BrokerRestarts > 0 && !broker.IsContainer)
        {
            throw new InvalidOperationException(
                $"Broker restarts need a broker container (Testcontainers); {TestEnvironment.RabbitMqUriVariable} points at an external broker. Unset it.");
        }

        // Fail before anything starts when the executables are not built (the message says how to build them).
        _ = BuildOutput.WorkerHostDll;
        if (options.RuntimeRestarts > 0)
        {
            _ = BuildOutput.RuntimeDll;
        }

        var log = options.Log ?? (static _ => { });
        var random = new Random(options.Seed);
        var workDirectory = options.WorkDirectory ?? Path.Combine(Path.GetTempPath(), $"worker-chaos-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{options.Seed}");
        Directory.CreateDirectory(workDirectory);
        var apiKey = "sk-chaos-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
        var simulatorOptions = new SimulatorOptions
        {
            ApiKey = apiKey,
            Latency = new LatencyOptions { TimeToFirstTokenMs = options.TimeToFirstTokenMs, TimePerTokenMs = options.TimePerTokenMs },
            Faults = new FaultOptions { Rate = options.FaultRate, Seed = options.Seed, Modes = [.. options.FaultModes], RetryAfterSeconds = 1 },
        };
        await using var simulator = await SimulatorServer.StartAsync(simulatorOptions, cancellationToken: cancellationToken);
        var setup = new WorkerSetup(broker.AmqpUri, broker.UniqueName("chaos"), simulator.BaseAddress, workDirectory)
        {
            Concurrency = options.Concurrency,
            EmbeddedRuntime = options.RuntimeRestarts == 0,
            ApiKey = apiKey,
        };
        setup.Extra["Resilience__MaxRetryAttempts"] = options.MaxRetryAttempts.ToString(CultureInfo.InvariantCulture);
        setup.Extra["Llm__Model"] = Model;
        log($"chaos: seed {options.Seed}, {options.Jobs} jobs + {options.PoisonMessages} poison, C={options.Concurrency}, faults {options.FaultRate:P0} ({string.Join(",", options.FaultModes)}), " +
            $"kills {options.WorkerKills}, broker restarts {options.BrokerRestarts}, runtime restarts {options.RuntimeRestarts}; logs in {workDirectory}");

        var jobs = Enumerable.Range(1, options.Jobs).Select(i => (Id: $"job-{i:D6}", Prompt: $"Chaos job {i}: describe item {i % 97} briefly")).ToList();
        var expected = jobs.ToDictionary(j => j.Id, j => AnswerGenerator.Generate(Model, j.Prompt), StringComparer.Ordinal);
        var poison = HostileCorpus.Poison(options.PoisonMessages, options.Seed);
        var messages = jobs.Select(j => (MessageId: j.Id, Body: System.Text.Encoding.UTF8.GetBytes(HostileCorpus.Valid(j.Id, j.Prompt)))).ToList();
        foreach (var p in poison)
        {
            messages.Insert(random.Next(messages.Count + 1), (p.CaseId, p.Body));
        }

        var events = Schedule(random, options);
        var eventLog = new List<string>();
        var violations = new List<string>();
        var clock = Stopwatch.StartNew();

        await using (var connection = await broker.CreateConnectionFactory("chaos-topology").CreateConnectionAsync(cancellationToken))
        {
            await setup.DeclareTopologyAsync(connection, cancellationToken);
        }

        await using var collector = await ResultCollector.StartAsync(broker.CreateConnectionFactory("chaos-collector"), setup.ResultsQueue, setup.DeadLetterQueue, cancellationToken);
        await PublishAsync(broker, setup.JobsQueue, messages, cancellationToken);
        log($"chaos: published {messages.Count} messages in {clock.Elapsed.TotalSeconds:0.0} s");

        var processes = new List<ManagedProcess>();
        ManagedProcess? runtime = null;
        var runtimeInstance = 0;
        var workerInstance = 0;
        var kills = 0;
        var restarts = 0;
        var unexpectedExits = 0;
        var brokerRestarts = 0;
        var runtimeRestarts = 0;
        var timedOut = false;
        uint left = 0;
        try
        {
            if (!setup.EmbeddedRuntime)
            {
                runtime = await setup.StartRuntimeAsync(++runtimeInstance, cancellationToken);
                processes.Add(runtime);
            }

            var worker = setup.StartWorker(++workerInstance);
            processes.Add(worker);
            var nextEvent = 0;
            var lastProgress = TimeSpan.Zero;
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (clock.Elapsed > options.Deadline)
                {
                    timedOut = true;
                    violations.Add($"deadline of {options.Deadline} reached before every job was answered");
                    break;
                }

                worker.SampleRss();
                if (worker.HasExited)
                {
                    unexpectedExits++;
                    violations.Add($"worker #{workerInstance} exited on its own with code {worker.ExitCode}: see {worker.LogPath}");
                    log($"chaos: worker exited unexpectedly (code {worker.ExitCode}); restarting\n{worker.Tail(15)}");
                    if (unexpectedExits >= MaxUnexpectedExits)
                    {
                        violations.Add($"giving up after {unexpectedExits} unexpected worker exits");
                        break;
                    }

                    await Task.Delay(1000, cancellationToken);
                    worker = setup.StartWorker(++workerInstance);
                    processes.Add(worker);
                    restarts++;
                }

                if (runtime is { HasExited: true })
                {
                    violations.Add($"runtime #{runtimeInstance} exited on its own with code {runtime.ExitCode}: see {runtime.LogPath}");
                    runtime = await setup.StartRuntimeAsync(++runtimeInstance, cancellationToken);
                    processes.Add(runtime);
                }

                var done = collector.SucceededIds;
                if (clock.Elapsed - lastProgress >= ProgressInterval)
                {
                    lastProgress = clock.Elapsed;
                    log($"chaos: {clock.Elapsed.TotalSeconds,6:0.0} s  {done}/{options.Jobs} succeeded, {collector.ResultDeliveries} result deliveries, " +
                        $"{collector.DeadLetters().Count} dead letters, worker #{workerInstance} rss {worker.SampleRss() / (1024 * 1024) ?? 0} MiB, simulator {simulator.Stats.TotalRequests} requests");
                }

                if (nextEvent < events.Count && done >= events[nextEvent].At * options.Jobs)
                {
                    var (at, kind) = events[nextEvent++];
                    var started = clock.Elapsed;
                    var line = string.Create(CultureInfo.InvariantCulture, $"{started.TotalSeconds:0.0} s, {done}/{options.Jobs} done (planned at {at:P0}): ");
                    switch (kind)
                    {
                        case ChaosEventKind.KillWorker:
                            var killedPid = worker.Pid;
                            worker.SampleRss();
                            await worker.KillAsync();
                            kills++;
                            var pause = random.Next(200, 1500);
                            await Task.Delay(pause, cancellationToken);
                            worker = setup.StartWorker(++workerInstance);
                            processes.Add(worker);
                            restarts++;
                            line += $"SIGKILL worker (pid {killedPid}), restarted after {pause} ms as pid {worker.Pid}";
                            break;
                        case ChaosEventKind.RestartBroker:
                            await broker.StopBrokerAsync(cancellationToken);
                            var down = random.Next(500, 3000);
                            await Task.Delay(down, cancellationToken);
                            await broker.StartBrokerAsync(cancellationToken);
                            brokerRestarts++;
                            line += string.Create(CultureInfo.InvariantCulture, $"broker stopped, down {down} ms, accepting again after {(clock.Elapsed - started).TotalSeconds:0.0} s");
                            break;
                        case ChaosEventKind.RestartRuntime:
                            var oldPid = runtime!.Pid;
                            await runtime.KillAsync();
                            var gap = random.Next(300, 1500);
                            await Task.Delay(gap, cancellationToken);
                            runtime = await setup.StartRuntimeAsync(++runtimeInstance, cancellationToken);
                            processes.Add(runtime);
                            runtimeRestarts++;
                            line += $"SIGKILL runtime (pid {oldPid}), restarted after {gap} ms as pid {runtime.Pid}";
                            break;
                    }

                    eventLog.Add(line);
                    log("chaos: " + line);
                    continue;
                }

                if (nextEvent == events.Count && done >= options.Jobs && PoisonSettled(collector, poison))
                {
                    break;
                }

                await Task.Delay(100, cancellationToken);
            }

            await Task.Delay(SettleTime, cancellationToken);
            left = await collector.QueueDepthAsync(setup.JobsQueue, cancellationToken);
            worker.SampleRss();
            await worker.StopAsync(TimeSpan.FromSeconds(20));
            if (worker.ExitCode is not 0)
            {
                violations.Add($"worker #{workerInstance} exited with code {worker.ExitCode} on SIGTERM (expected a clean stop): see {worker.LogPath}");
            }
        }
        finally
        {
            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }
        }

        clock.Stop();
        var report = Analyze(options, setup, jobs.Count, expected, poison, collector, simulator.Stats, violations) with
        {
            WallTime = clock.Elapsed,
            TimedOut = timedOut,
            JobsLeftInQueue = left,
            WorkerKills = kills,
            WorkerRestarts = restarts,
            WorkerUnexpectedExits = unexpectedExits,
            BrokerRestarts = brokerRestarts,
            RuntimeRestarts = runtimeRestarts,
            WorkerPeakRssBytes = processes.Where(p => p.Name.StartsWith("worker", StringComparison.Ordinal)).Select(p => p.PeakRssBytes).DefaultIfEmpty(0).Max(),
            Events = eventLog,
            WorkDirectory = workDirectory,
        };
        var final = new List<string>(report.Violations);
        if (left > 0)
        {
            final.Add($"{left} message(s) still in the jobs queue at the end");
        }

        if (kills != options.WorkerKills || brokerRestarts != options.BrokerRestarts || runtimeRestarts != options.RuntimeRestarts)
        {
            final.Add($"planned events not all done: kills {kills}/{options.WorkerKills}, broker restarts {brokerRestarts}/{options.BrokerRestarts}, runtime restarts {runtimeRestarts}/{options.RuntimeRestarts}");
        }

        final.AddRange(ScanForKey(apiKey, workDirectory, collector));
        await collector.DeleteAsync(setup.Queues, setup.Exchanges);
        return report with { Violations = final };
    }

    /// <summary>The API key must appear in no process log, result or dead letter (whole, or any 16-character piece of it).</summary>
    private static List<string> ScanForKey(string apiKey, string workDirectory, ResultCollector collector)
    {
        var pieces = Enumerable.Range(0, apiKey.Length - 15).Select(i => apiKey.Substring(i, 16)).ToList();
        var texts = Directory.EnumerateFiles(workDirectory, "*.log").Select(f => (Where: Path.GetFileName(f), Text: File.ReadAllText(f)))
            .Concat(collector.Results().Select(r => (Where: "result " + r.Id, Text: r.Json + string.Join(" ", r.Headers.Values))))
            .Concat(collector.DeadLetters().Select(d => (Where: "dead letter " + d.MessageId, Text: System.Text.Encoding.UTF8.GetString(d.Body ?? []) + string.Join(" ", d.Headers.Values))));
        return [.. texts.Where(t => pieces.Any(p => t.Text.Contains(p, StringComparison.Ordinal))).Select(t => $"the API key appears in {t.Where}")];
    }

    /// <summary>Random progress points for the events, in order; one event at a time.</summary>
    private static List<(double At, ChaosEventKind Kind)> Schedule(Random random, ChaosOptions options)
    {
        var kinds = Enumerable.Repeat(ChaosEventKind.KillWorker, options.WorkerKills)
            .Concat(Enumerable.Repeat(ChaosEventKind.RestartBroker, options.BrokerRestarts))
            .Concat(Enumerable.Repeat(ChaosEventKind.RestartRuntime, options.RuntimeRestarts));
        return [.. kinds.Select(k => (At: options.EarliestEvent + (random.NextDouble() * (options.LatestEvent - options.EarliestEvent)), Kind: k)).OrderBy(e => e.At)];
    }

    /// <summary>Publishes persistent messages with confirms, up to 256 awaiting their confirm at once.</summary>
    public static async Task PublishAsync(RabbitMqBrokerFixture broker, string queue, IEnumerable<(string MessageId, byte[] Body)> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(broker);
        ArgumentNullException.ThrowIfNull(messages);
        await using var connection = await broker.CreateConnectionFactory("chaos-publisher").CreateConnectionAsync(cancellationToken);
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true,
                outstandingPublisherConfirmationsRateLimiter: new ThrottlingRateLimiter(512)),
            cancellationToken);
        var pending = new List<Task>(256);
        foreach (var (messageId, body) in messages)
        {
            var properties = new BasicProperties { Persistent = true, ContentType = "application/json", MessageId = messageId };
            pending.Add(channel.BasicPublishAsync("", queue, mandatory: true, properties, body, cancellationToken).AsTask());
            if (pending.Count == 256)
            {
                await Task.WhenAll(pending);
                pending.Clear();
            }
        }

        await Task.WhenAll(pending);
    }

    /// <summary>Every poison message dead-lettered, and every one with a readable id answered failed.</summary>
    private static bool PoisonSettled(ResultCollector collector, List<HostileCase> poison)
    {
        var dead = collector.DeadLetters().Select(d => d.MessageId).ToHashSet(StringComparer.Ordinal);
        if (!poison.All(p => dead.Contains(p.CaseId)))
        {
            return false;
        }

        var withId = poison.Where(p => p.ResultId is not null).Select(p => p.ResultId!).ToList();
        if (withId.Count == 0)
        {
            return true;
        }

        var answered = collector.Results().Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
        return withId.All(answered.Contains);
    }

    /// <summary>True when a failed result's error says the runtime, the breaker or a shutdown was the cause, not the job.</summary>
    public static bool IsOutageFailure(ObservedResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var message = result.ErrorMessage ?? "";
        return message.Contains("connector runtime", StringComparison.OrdinalIgnoreCase)
            || message.Contains("circuit", StringComparison.OrdinalIgnoreCase)
            || message.Contains("shutting down", StringComparison.OrdinalIgnoreCase)
            || message.Contains("connection closed before the answer", StringComparison.OrdinalIgnoreCase);
    }

    private static ChaosReport Analyze(ChaosOptions options, WorkerSetup setup, int jobCount, Dictionary<string, string> expected,
        List<HostileCase> poison, ResultCollector collector, SimulatorStats stats, List<string> violations)
    {
        var results = collector.Results();
        var deadLetters = collector.DeadLetters();
        var poisonIds = poison.Where(p => p.ResultId is not null).Select(p => p.ResultId!).ToHashSet(StringComparer.Ordinal);
        var poisonCases = poison.Select(p => p.CaseId).ToHashSet(StringComparer.Ordinal);
        int missing = 0, duplicateIds = 0, duplicateResults = 0, marked = 0, unmarked = 0, failed = 0, failedByOutage = 0,
            wrongContent = 0, unexpected = 0, poisonResults = 0, retried = 0, maxAttempts = 0;
        var missingExamples = new List<string>();
        var failedExamples = new List<string>();
        var unmarkedExamples = new List<string>();
        var byId = results.GroupBy(r => r.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        foreach (var (id, content) in expected)
        {
            if (!byId.TryGetValue(id, out var list) || !list.Any(r => r.Succeeded))
            {
                missing++;
                if (missingExamples.Count < 10)
                {
                    missingExamples.Add(id);
                }

                list ??= [];
            }

            foreach (var result in list)
            {
                if (result.Succeeded)
                {
                    if (result.Content != content)
                    {
                        wrongContent++;
                    }

                    maxAttempts = Math.Max(maxAttempts, result.Attempts);
                }
                else
                {
                    failed++;
                    if (IsOutageFailure(result))
                    {
                        failedByOutage++;
                    }

                    if (failedExamples.Count < 5)
                    {
                        failedExamples.Add($"{id}: {result.ErrorClass}: {result.ErrorMessage}");
                    }
                }
            }

            if (list.Any(r => r.Succeeded && r.Attempts > 1))
            {
                retried++;
            }

            if (list.Count > 1)
            {
                duplicateIds++;
                duplicateResults += list.Count - 1;
                var firstDeliveries = list.Count(r => !r.Redelivered);
                var notMarked = Math.Max(firstDeliveries - 1, 0);
                unmarked += notMarked;
                marked += list.Count - 1 - notMarked;
                if (notMarked > 0 && unmarkedExamples.Count < 5)
                {
                    unmarkedExamples.Add($"{id} answered {list.Count} times, {firstDeliveries} not marked redelivered");
                }
            }
        }

        foreach (var (id, list) in byId)
        {
            if (expected.ContainsKey(id))
            {
                continue;
            }

            if (poisonIds.Contains(id))
            {
                poisonResults += list.Count;
                foreach (var result in list.Where(r => r.Succeeded || r.ErrorClass != "Poison"))
                {
                    violations.Add($"poison id {id} answered {result.Status} ({result.ErrorClass}), expected failed (Poison)");
                }
            }
            else
            {
                unexpected += list.Count;
            }
        }

        var distinctPoison = deadLetters.Where(d => d.MessageId is not null && poisonCases.Contains(d.MessageId)).Select(d => d.MessageId).Distinct().Count();
        var withReason = deadLetters.Count(d => !string.IsNullOrWhiteSpace(d.Reason));
        var notPoison = deadLetters.Where(d => d.MessageId is null || !poisonCases.Contains(d.MessageId)).ToList();

        if (missing > 0)
        {
            violations.Add($"{missing} job(s) without a succeeded result, e.g. {string.Join(", ", missingExamples)}");
        }

        if (failed > 0)
        {
            violations.Add($"{failed} failed result(s) for valid jobs ({failedByOutage} caused by outages), e.g. {string.Join(" | ", failedExamples)}");
        }

        if (unmarked > 0)
        {
            violations.Add($"{unmarked} duplicate result(s) not marked redelivered, e.g. {string.Join("; ", unmarkedExamples)}");
        }

        if (wrongContent > 0)
        {
            violations.Add($"{wrongContent} succeeded result(s) with content other than the simulator's deterministic answer");
        }

        if (unexpected > 0)
        {
            violations.Add($"{unexpected} result(s) for ids that were never published");
        }

        if (collector.UnreadableResults > 0)
        {
            violations.Add($"{collector.UnreadableResults} result message(s) that are not JSON with an id and a status");
        }

        if (distinctPoison != poison.Count)
        {
            violations.Add($"{distinctPoison} of {poison.Count} poison messages dead-lettered");
        }

        if (withReason != deadLetters.Count)
        {
            violations.Add($"{deadLetters.Count - withReason} dead letter(s) without x-reject-reason");
        }

        if (notPoison.Count > 0)
        {
            violations.Add($"{notPoison.Count} dead letter(s) that are not poison, e.g. {string.Join(", ", notPoison.Take(5).Select(d => $"{d.MessageId} ({d.Reason ?? string.Join(",", d.Headers.Keys)})"))}");
        }

        var snapshot = stats.Snapshot();
        var outcomes = new Dictionary<string, long>(StringComparer.Ordinal)
        {
            ["ok"] = snapshot.Outcomes.Ok,
            ["rate_limit"] = snapshot.Outcomes.RateLimit,
            ["server_error"] = snapshot.Outcomes.ServerError,
            ["unavailable"] = snapshot.Outcomes.Unavailable,
            ["drop"] = snapshot.Outcomes.Drop,
            ["malformed"] = snapshot.Outcomes.Malformed,
            ["error_event"] = snapshot.Outcomes.ErrorEvent,
            ["hang"] = snapshot.Outcomes.Hang,
            ["bad_request"] = snapshot.Outcomes.BadRequest,
            ["unauthorized"] = snapshot.Outcomes.Unauthorized,
        };

        return new ChaosReport
        {
            Options = options,
            WallTime = TimeSpan.Zero,
            TimedOut = false,
            JobsPublished = jobCount,
            PoisonPublished = poison.Count,
            SucceededIds = collector.SucceededIds,
            MissingIds = missing,
            ResultMessages = results.Count,
            ResultDeliveriesToCollector = collector.ResultDeliveries,
            DuplicateIds = duplicateIds,
            DuplicateResults = duplicateResults,
            DuplicatesMarkedRedelivered = marked,
            DuplicatesNotMarkedRedelivered = unmarked,
            RedeliveredResults = results.Count(r => r.Redelivered),
            FailedResults = failed,
            FailedByOutage = failedByOutage,
            WrongContent = wrongContent,
            UnexpectedResults = unexpected,
            PoisonResults = poisonResults,
            DeadLettered = deadLetters.Count,
            DeadLetteredDistinctPoison = distinctPoison,
            DeadLetteredWithReason = withReason,
            DeadLetteredNotPoison = notPoison.Count,
            JobsLeftInQueue = 0,
            WorkerKills = 0,
            WorkerRestarts = 0,
            WorkerUnexpectedExits = 0,
            BrokerRestarts = 0,
            RuntimeRestarts = 0,
            WorkerPeakRssBytes = 0,
            MaxAttempts = maxAttempts,
            RetriedJobs = retried,
            SimulatorOutcomes = outcomes,
            SimulatorRequests = snapshot.TotalRequests,
            Events = [],
            Violations = [.. violations],
            WorkDirectory = setup.WorkDirectory,
        };
    }
}
