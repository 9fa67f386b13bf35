using System.Globalization;
using System.Text;

namespace Worker.Chaos;

/// <summary>The figures of one chaos run and every violation found; <see cref="Passed"/> when there is none.</summary>
public sealed record ChaosReport
{
    public required ChaosOptions Options { get; init; }
    public required TimeSpan WallTime { get; init; }
    public required bool TimedOut { get; init; }
    public required int JobsPublished { get; init; }
    public required int PoisonPublished { get; init; }
    public required int SucceededIds { get; init; }
    public required int MissingIds { get; init; }
    public required long ResultMessages { get; init; }
    public required long ResultDeliveriesToCollector { get; init; }
    public required int DuplicateIds { get; init; }
    public required int DuplicateResults { get; init; }
    public required int DuplicatesMarkedRedelivered { get; init; }
    public required int DuplicatesNotMarkedRedelivered { get; init; }
    public required int RedeliveredResults { get; init; }
    public required int FailedResults { get; init; }
    public required int FailedByOutage { get; init; }
    public required int WrongContent { get; init; }
    public required int UnexpectedResults { get; init; }
    public required int PoisonResults { get; init; }
    public required int DeadLettered { get; init; }
    public required int DeadLetteredDistinctPoison { get; init; }
    public required int DeadLetteredWithReason { get; init; }
    public required int DeadLetteredNotPoison { get; init; }
    public required uint JobsLeftInQueue { get; init; }
    public required int WorkerKills { get; init; }
    public required int WorkerRestarts { get; init; }
    public required int WorkerUnexpectedExits { get; init; }
    public required int BrokerRestarts { get; init; }
    public required int RuntimeRestarts { get; init; }
    public required long WorkerPeakRssBytes { get; init; }
    public required int MaxAttempts { get; init; }
    public required int RetriedJobs { get; init; }
    public required IReadOnlyDictionary<string, long> SimulatorOutcomes { get; init; }
    public required long SimulatorRequests { get; init; }
    public required IReadOnlyList<string> Events { get; init; }
    public required IReadOnlyList<string> Violations { get; init; }
    public required string WorkDirectory { get; init; }

    public bool Passed => Violations.Count == 0;

    /// <summary>The figures as aligned text lines.</summary>
    public string ToText()
    {
        var text = new StringBuilder();
        foreach (var (name, value) in Figures())
        {
            text.Append(CultureInfo.InvariantCulture, $"  {name,-48} {value}\n");
        }

        text.Append("  events:\n");
        foreach (var e in Events)
        {
            text.Append("    ").Append(e).Append('\n');
        }

        text.Append(Passed ? "  PASSED: no violation\n" : $"  FAILED: {Violations.Count} violation(s)\n");
        foreach (var violation in Violations)
        {
            text.Append("    - ").Append(violation).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>docs/reliability.md: what was run, on which commit, and the figures.</summary>
    public string ToMarkdown(string commit, DateTimeOffset date, string command)
    {
        var md = new StringBuilder();
        md.Append("# Reliability: the chaos run\n\n");
        md.Append("Written by `scripts/chaos.sh` (do not edit by hand; run the script again).\n\n");
        md.Append(CultureInfo.InvariantCulture, $"- Date: {date:yyyy-MM-dd HH:mm} UTC\n");
        md.Append(CultureInfo.InvariantCulture, $"- Commit: `{commit}`\n");
        md.Append(CultureInfo.InvariantCulture, $"- Command: `{command}`\n");
        md.Append(CultureInfo.InvariantCulture, $"- Machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}\n");
        md.Append(CultureInfo.InvariantCulture, $"- Result: **{(Passed ? "PASSED" : "FAILED")}**\n\n");
        md.Append("## What the run does\n\n");
        md.Append(CultureInfo.InvariantCulture, $"{Options.Jobs:N0} valid jobs and {Options.PoisonMessages} poison messages (mixed in at random positions) are published to a fresh quorum jobs queue; ");
        md.Append(CultureInfo.InvariantCulture, $"a real `Worker.Host` process (C = {Options.Concurrency}, ");
        md.Append(Options.RuntimeRestarts > 0 ? "`Runtime:Embedded=false`, against a real `Worker.Runtime` process" : "embedded runtime");
        md.Append(CultureInfo.InvariantCulture, $") works them against the simulator with a {Options.FaultRate:P0} fault rate ({string.Join(", ", Options.FaultModes)}; 429s carry `Retry-After: 1`). ");
        md.Append(CultureInfo.InvariantCulture, $"While it runs, the driver SIGKILLs the worker {Options.WorkerKills} time(s) (restarting it), restarts the broker container {Options.BrokerRestarts} time(s)");
        md.Append(Options.RuntimeRestarts > 0 ? string.Create(CultureInfo.InvariantCulture, $" and SIGKILLs and restarts the runtime {Options.RuntimeRestarts} time(s)") : "");
        md.Append(", each at a random point of the progress. ");
        md.Append("A collector reads every result and dead letter; then the checks below run. Any violation makes the script exit non-zero.\n\n");
        md.Append(CultureInfo.InvariantCulture, $"Worker settings beyond the defaults: `Resilience:MaxRetryAttempts={Options.MaxRetryAttempts}`, `BaseDelay=100ms`, `MaxDelay=2s`, `MaxRetryAfter=2s`, `BreakerBreakDuration=2s`, `RabbitMq:PublishTimeout=10s`, `Worker:DrainTimeout=5s`. ");
        md.Append(CultureInfo.InvariantCulture, $"Simulator latency: {Options.TimeToFirstTokenMs} ms to the first token, {Options.TimePerTokenMs} ms per token. Seed: {Options.Seed}.\n\n");
        md.Append("The checks: every valid job has a succeeded result whose content is the simulator's deterministic answer (0 missing, 0 wrong); ");
        md.Append("a job may be answered twice only if it was redelivered (the worker died or lost the broker between publishing the result and acking the job), ");
        md.Append("and then every extra result must say `\"redelivered\": true`; no valid job may fail (retries absorb the upstream faults, outages pause intake and requeue); ");
        md.Append("exactly the poison messages are dead-lettered, each with `x-reject-reason`; the jobs queue ends empty; the worker never exits on its own and stops cleanly on SIGTERM; ");
        md.Append("the API key appears in no process log, result or dead letter.\n\n");
        md.Append("## Figures\n\n| Check | Value |\n|---|---|\n");
        foreach (var (name, value) in Figures())
        {
            md.Append(CultureInfo.InvariantCulture, $"| {name} | {value} |\n");
        }

        md.Append("\n## Events\n\n");
        foreach (var e in Events)
        {
            md.Append("- ").Append(e).Append('\n');
        }

        md.Append("\n## Violations\n\n");
        if (Passed)
        {
            md.Append("None.\n");
        }
        else
        {
            foreach (var violation in Violations)
            {
                md.Append("- ").Append(violation).Append('\n');
            }
        }

        md.Append("\n## Reproduce\n\n```bash\n");
        md.Append(CultureInfo.InvariantCulture, $"scripts/chaos.sh --seed {Options.Seed}   # this run (the schedule and the faults follow the seed; timing does not)\n");
        md.Append("scripts/chaos.sh --ci                 # the CI size: 500 jobs, C=8, one kill, one broker and one runtime restart, 10 poison\n");
        md.Append("scripts/chaos.sh --fuzz               # 100,000 random and mutated IPC frames against a runtime process\n");
        md.Append("dotnet test tests/Worker.Chaos.Tests  # the CI-sized run, hostile input, fuzz and security tests (see docs/security.md)\n```\n");
        return md.ToString();
    }

    private IEnumerable<(string Name, string Value)> Figures()
    {
        var ci = CultureInfo.InvariantCulture;
        yield return ("jobs published (valid / poison)", string.Create(ci, $"{JobsPublished:N0} / {PoisonPublished}"));
        yield return ("job ids with a succeeded result", string.Create(ci, $"{SucceededIds:N0} of {JobsPublished:N0}"));
        yield return ("missing (no succeeded result)", MissingIds.ToString(ci));
        yield return ("result messages (distinct publishes)", ResultMessages.ToString("N0", ci));
        yield return ("duplicates: job ids answered more than once", DuplicateIds.ToString(ci));
        yield return ("duplicates: extra results", string.Create(ci, $"{DuplicateResults} ({DuplicatesMarkedRedelivered} marked redelivered, {DuplicatesNotMarkedRedelivered} not)"));
        yield return ("results marked redelivered (all)", RedeliveredResults.ToString(ci));
        yield return ("failed results for valid jobs", FailedResults.ToString(ci));
        yield return ("  of which caused by outages", FailedByOutage.ToString(ci));
        yield return ("succeeded results with wrong content", WrongContent.ToString(ci));
        yield return ("results for unknown ids", UnexpectedResults.ToString(ci));
        yield return ("failed results for poison with a readable id", PoisonResults.ToString(ci));
        yield return ("dead-lettered messages", string.Create(ci, $"{DeadLettered} ({DeadLetteredDistinctPoison} distinct poison of {PoisonPublished}, {DeadLetteredWithReason} with x-reject-reason, {DeadLetteredNotPoison} not poison)"));
        yield return ("jobs left in the queue at the end", JobsLeftInQueue.ToString(ci));
        yield return ("jobs that needed retries / most attempts", string.Create(ci, $"{RetriedJobs:N0} / {MaxAttempts}"));
        yield return ("simulator requests", string.Create(ci, $"{SimulatorRequests:N0} ({string.Join(", ", SimulatorOutcomes.Where(o => o.Value > 0).Select(o => $"{o.Key} {o.Value:N0}"))})"));
        yield return ("worker SIGKILLs / restarts / unexpected exits", string.Create(ci, $"{WorkerKills} / {WorkerRestarts} / {WorkerUnexpectedExits}"));
        yield return ("broker restarts", BrokerRestarts.ToString(ci));
        yield return ("runtime restarts", RuntimeRestarts.ToString(ci));
        yield return ("worker peak RSS", string.Create(ci, $"{WorkerPeakRssBytes / (1024.0 * 1024):0} MiB"));
        yield return ("wall time", string.Create(ci, $"{WallTime.TotalSeconds:0.0} s{(TimedOut ? " (DEADLINE REACHED)" : "")}"));
    }
}
