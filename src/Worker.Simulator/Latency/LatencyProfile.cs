namespace Worker.Simulator.Latency;

/// <summary>Time to first token and time between tokens of one request.</summary>
internal readonly record struct LatencyProfile(TimeSpan TimeToFirstToken, TimeSpan TimePerToken)
{
    /// <summary>Whether the stream should be flushed chunk by chunk (otherwise only when buffers fill and at the end).</summary>
    public bool IsPaced => TimePerToken > TimeSpan.Zero;

    /// <summary>How long a non-streaming answer of <paramref name="tokens"/> tokens waits before it is sent.</summary>
    public TimeSpan NonStreamingDelay(int tokens) => TimeToFirstToken + (TimePerToken * tokens);

    /// <summary>Waits <paramref name="delay"/>; a zero delay completes synchronously without any timer.</summary>
    public static ValueTask DelayAsync(TimeSpan delay, CancellationToken cancellationToken) =>
        delay <= TimeSpan.Zero ? ValueTask.CompletedTask : new ValueTask(Task.Delay(delay, cancellationToken));
}
