using Microsoft.Extensions.Options;
using Worker.Simulator.Options;
using Worker.Simulator.Stats;

namespace Worker.Simulator.Limits;

/// <summary>
/// Capacity mode (<c>Simulator:Capacity</c>, DI singleton): at most MaxConcurrent generations at once; beyond that a
/// request waits first come first served (<see cref="CapacityOverflow.Queue"/>) or is refused. Without a limit it
/// only counts the running generations. A waiter that is cancelled leaves the queue; a freed slot goes straight to
/// the next waiter, so a late arrival can never overtake the queue.
/// </summary>
internal sealed class GenerationSlots
{
    private readonly Lock _lock = new();
    private readonly LinkedList<TaskCompletionSource> _waiters = new();
    private readonly SimulatorStats _stats;
    private readonly int _max;
    private readonly CapacityOverflow _overflow;
    private int _active;

    public GenerationSlots(IOptions<SimulatorOptions> options, SimulatorStats stats)
    {
        _stats = stats;
        _max = options.Value.Capacity.MaxConcurrent;
        _overflow = options.Value.Capacity.Overflow;
    }

    public int MaxConcurrent => _max;

    /// <summary>
    /// Takes a slot: true at once when one is free; false when full and overflow is Reject; otherwise waits in line.
    /// Throws <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires while waiting.
    /// Every true must be matched by one <see cref="Leave"/>.
    /// </summary>
    public ValueTask<bool> TryEnterAsync(CancellationToken cancellationToken)
    {
        if (_max == 0)
        {
            _stats.GenerationStarted();
            return ValueTask.FromResult(true);
        }

        LinkedListNode<TaskCompletionSource> node;
        lock (_lock)
        {
            if (_active < _max)
            {
                _active++;
                _stats.GenerationStarted();
                return ValueTask.FromResult(true);
            }

            if (_overflow == CapacityOverflow.Reject)
            {
                return ValueTask.FromResult(false);
            }

            cancellationToken.ThrowIfCancellationRequested();

            // Completed outside the lock, and its continuation must not run inline inside Leave().
            node = _waiters.AddLast(new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            _stats.QueuedChanged(+1);
        }

        return WaitAsync(node, cancellationToken);
    }

    /// <summary>Frees a slot, handing it to the first waiter if there is one.</summary>
    public void Leave()
    {
        if (_max == 0)
        {
            _stats.GenerationEnded();
            return;
        }

        TaskCompletionSource? next = null;
        lock (_lock)
        {
            _stats.GenerationEnded();
            if (_waiters.First is { } first)
            {
                // The slot passes on: _active stays the same.
                _waiters.RemoveFirst();
                _stats.QueuedChanged(-1);
                _stats.GenerationStarted();
                next = first.Value;
            }
            else
            {
                _active--;
            }
        }

        next?.TrySetResult();
    }

    private async ValueTask<bool> WaitAsync(LinkedListNode<TaskCompletionSource> node, CancellationToken cancellationToken)
    {
        using (cancellationToken.Register(() => Abandon(node, cancellationToken)))
        {
            await node.Value.Task;
        }

        return true;
    }

    /// <summary>A waiter gave up (client gone): it leaves the line, unless Leave() already handed it the slot.</summary>
    private void Abandon(LinkedListNode<TaskCompletionSource> node, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (node.List is null)
            {
                // Already handed the slot: the request goes on, notices the cancellation and calls Leave().
                return;
            }

            _waiters.Remove(node);
            _stats.QueuedChanged(-1);
        }

        node.Value.TrySetCanceled(cancellationToken);
    }
}
