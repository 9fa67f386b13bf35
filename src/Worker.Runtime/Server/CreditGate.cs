namespace Worker.Runtime.Server;

/// <summary>
/// The global cap on requests in flight (<c>Runtime:MaxInFlight</c>). A connection takes a credit before it starts a
/// request and waits for one before reading further, so a saturated runtime pushes back on its clients through the
/// socket instead of queueing their requests in memory.
/// </summary>
internal sealed class CreditGate
{
    private readonly SemaphoreSlim _credits;
    private readonly Lock _idleLock = new();
    private TaskCompletionSource? _idle;
    private int _active;

    public CreditGate(int capacity)
    {
        Capacity = capacity;
        _credits = new SemaphoreSlim(capacity, capacity);
    }

    public int Capacity { get; }

    public int Active => Volatile.Read(ref _active);

    public int Available => _credits.CurrentCount;

    public bool TryAcquire()
    {
        if (!_credits.Wait(0))
        {
            return false;
        }

        Interlocked.Increment(ref _active);
        return true;
    }

    public async Task AcquireAsync(CancellationToken cancellationToken)
    {
        await _credits.WaitAsync(cancellationToken);
        Interlocked.Increment(ref _active);
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _active) == 0)
        {
            lock (_idleLock)
            {
                if (Volatile.Read(ref _active) == 0 && _idle is { } idle)
                {
                    _idle = null;
                    idle.TrySetResult();
                }
            }
        }

        _credits.Release();
    }

    /// <summary>Completes when no request holds a credit (used to drain on stop).</summary>
    public Task WaitIdleAsync(CancellationToken cancellationToken)
    {
        lock (_idleLock)
        {
            if (Volatile.Read(ref _active) == 0)
            {
                return Task.CompletedTask;
            }

            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _idle.Task.WaitAsync(cancellationToken);
        }
    }
}
