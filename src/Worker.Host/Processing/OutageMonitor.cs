namespace Worker.Host.Processing;

/// <summary>
/// Shared signal between processing and intake: processing reports an outage (breaker opened, runtime unreachable),
/// the consumer pauses intake until a probe succeeds. A queue must never be drained into failed results by an outage.
/// </summary>
public sealed class OutageMonitor
{
    private readonly Lock _lock = new();
    private TaskCompletionSource<string> _outage = NewSignal();

    /// <summary>True from a report until <see cref="Recovered"/>.</summary>
    public bool InOutage { get; private set; }

    /// <summary>Number of outages reported so far (each pause counts once).</summary>
    public int OutageCount { get; private set; }

    public void Report(string reason)
    {
        lock (_lock)
        {
            if (InOutage)
            {
                return;
            }

            InOutage = true;
            OutageCount++;
            _outage.TrySetResult(reason);
        }
    }

    public void Recovered()
    {
        lock (_lock)
        {
            InOutage = false;
            _outage = NewSignal();
        }
    }

    /// <summary>Completes with the reason when an outage is reported.</summary>
    public Task<string> WaitAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return _outage.Task.WaitAsync(cancellationToken);
        }
    }

    private static TaskCompletionSource<string> NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
