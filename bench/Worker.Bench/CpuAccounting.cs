using System.Diagnostics;
using System.Globalization;

namespace Worker.Bench;

/// <summary>
/// How busy the machine was with work that is not the bench's: CPU time of the whole machine (/proc/stat) minus the
/// bench process, its children (live and exited) and the broker container (its cpuacct cgroup, when scripts/bench.sh
/// started it and passed BENCH_BROKER_CGROUP). Reported per scenario, so a noisy figure can be told from a slow one.
/// </summary>
public static class CpuAccounting
{
    private static readonly Lock Gate = new();
    private static readonly List<ChildProcess> Live = [];
    private static double _exitedSeconds;

    public static void Track(ChildProcess child)
    {
        lock (Gate)
        {
            Live.Add(child);
        }
    }

    /// <summary>
    /// The bench is being stopped by a signal, so the children's own disposal will not run: kill them now (a frozen
    /// drain worker is thawed first, or it would not act on any signal but SIGKILL until it runs again).
    /// </summary>
    public static void KillLive()
    {
        lock (Gate)
        {
            foreach (var child in Live)
            {
                _ = ProcStat.Kill(child.Pid, 18); // SIGCONT
                _ = ProcStat.Kill(child.Pid, 9);
            }

            Live.Clear();
        }
    }

    /// <summary>Called just before a child is stopped: its CPU so far stays counted.</summary>
    public static void Untrack(ChildProcess child)
    {
        lock (Gate)
        {
            if (Live.Remove(child))
            {
                try
                {
                    _exitedSeconds += child.CpuSeconds();
                }
                catch (IOException)
                {
                    // Already gone.
                }
            }
        }
    }

    public readonly record struct Snapshot(long Timestamp, double MachineBusySeconds, double BenchSeconds);

    public static Snapshot Take()
    {
        double children;
        lock (Gate)
        {
            children = _exitedSeconds + Live.Sum(c =>
            {
                try
                {
                    return c.CpuSeconds();
                }
                catch (IOException)
                {
                    return 0;
                }
            });
        }

        return new Snapshot(Stopwatch.GetTimestamp(), MachineBusySeconds(), ProcStat.SelfCpuSeconds() + children + BrokerSeconds());
    }

    /// <summary>Percent of the machine (all cores) used by other work between two snapshots.</summary>
    public static double ForeignPercent(Snapshot from, Snapshot to)
    {
        var wall = (double)(to.Timestamp - from.Timestamp) / Stopwatch.Frequency;
        var foreign = (to.MachineBusySeconds - from.MachineBusySeconds) - (to.BenchSeconds - from.BenchSeconds);
        return Math.Max(0, foreign / (wall * Environment.ProcessorCount) * 100);
    }

    private static double MachineBusySeconds()
    {
        // cpu  user nice system idle iowait irq softirq steal guest guest_nice (USER_HZ)
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var values = fields.Skip(1).Take(8).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var busy = values.Sum() - values[3] - values[4];
        return busy / 100.0;
    }

    /// <summary>CPU seconds of the broker container so far; 0 when unknown (an external broker).</summary>
    public static double BrokerSeconds()
    {
        var cgroup = Environment.GetEnvironmentVariable("BENCH_BROKER_CGROUP");
        if (string.IsNullOrEmpty(cgroup))
        {
            return 0;
        }

        foreach (var file in new[] { Path.Combine(cgroup, "cpuacct.usage"), Path.Combine(cgroup, "cpu.stat") })
        {
            if (!File.Exists(file))
            {
                continue;
            }

            var text = File.ReadAllText(file);
            if (file.EndsWith("cpuacct.usage", StringComparison.Ordinal))
            {
                return long.Parse(text.Trim(), CultureInfo.InvariantCulture) / 1e9;
            }

            var usage = text.Split('\n').FirstOrDefault(l => l.StartsWith("usage_usec ", StringComparison.Ordinal));
            return usage is null ? 0 : long.Parse(usage[11..], CultureInfo.InvariantCulture) / 1e6;
        }

        return 0;
    }
}
