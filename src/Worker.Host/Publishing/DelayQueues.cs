using System.Globalization;

namespace Worker.Host.Publishing;

/// <summary>
/// The delay queues: a job that must wait for a limit is published to one of them and comes back to the jobs queue by
/// itself when its time there is up (the queue's message TTL dead-letters it to the jobs queue). Fixed tiers, one
/// queue each, because a broker expires messages only at a queue's head: one queue with per-message TTLs would hold a
/// short wait behind a long one. A wait takes the longest tier not longer than it (at least the shortest); what is
/// left of it is waited again when the job returns.
/// </summary>
public static class DelayQueues
{
    /// <summary>The tiers, in seconds.</summary>
    public static IReadOnlyList<int> TierSeconds { get; } = [1, 5, 30, 120, 600];

    /// <summary>Header with the LLM calls a job made before it was delayed, so its result's <c>attempts</c> stays true.</summary>
    public const string AttemptsHeader = "x-llm-attempts";

    /// <summary>Header with why the job was delayed (bounded text).</summary>
    public const string ReasonHeader = "x-delay-reason";

    public static string Name(string jobsQueue, int seconds) => $"{jobsQueue}.delay.{seconds.ToString(CultureInfo.InvariantCulture)}s";

    /// <summary>The tier for a wait: the longest not longer than it, at least the shortest.</summary>
    public static int TierFor(TimeSpan wait)
    {
        var chosen = TierSeconds[0];
        foreach (var tier in TierSeconds)
        {
            if (tier <= wait.TotalSeconds)
            {
                chosen = tier;
            }
        }

        return chosen;
    }

    /// <summary>The attempts header's value, read defensively (producers can set any header): 0..10,000, else 0.</summary>
    public static int ReadAttempts(IDictionary<string, object?>? headers)
    {
        if (headers is null || !headers.TryGetValue(AttemptsHeader, out var value))
        {
            return 0;
        }

        long attempts = value switch
        {
            int i => i,
            long l => l,
            short s => s,
            byte b => b,
            byte[] text when int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) => parsed,
            _ => 0,
        };
        return attempts is >= 0 and <= 10_000 ? (int)attempts : 0;
    }
}
