namespace Worker.Host.Cancelling;

/// <summary>
/// The decisions about cancel requests, without the broker: which jobs are running (each with its own token source),
/// and which ids were cancelled — remembered for <c>memory</c> (the job TTL), at most <c>capacity</c> of them, the
/// oldest forgotten first — so a job that arrives after its cancel is answered without an upstream call.
/// </summary>
public sealed class CancelLedger
{
    private readonly int _capacity;
    private readonly TimeSpan _memory;
    private readonly object _gate = new();

    // Insertion order = expiry order (one memory for all), so expired ids are always at the head.
    private readonly LinkedList<(string Id, DateTimeOffset Until)> _order = new();
    private readonly Dictionary<string, LinkedListNode<(string Id, DateTimeOffset Until)>> _remembered = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<CancellationTokenSource>> _running = new(StringComparer.Ordinal);

    public CancelLedger(int capacity, TimeSpan memory)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(memory, TimeSpan.Zero);
        _capacity = capacity;
        _memory = memory;
    }

    /// <summary>Cancelled ids remembered now.</summary>
    public int Remembered
    {
        get
        {
            lock (_gate)
            {
                return _remembered.Count;
            }
        }
    }

    /// <summary>Remembers <paramref name="id"/> as cancelled and stops its runs on this worker, if any.</summary>
    public async Task<CancelDecision> CancelAsync(string id, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(id);
        CancellationTokenSource[] running;
        lock (_gate)
        {
            Expire(now);
            if (_remembered.Remove(id, out var old))
            {
                _order.Remove(old);
            }
            else if (_remembered.Count >= _capacity)
            {
                _remembered.Remove(_order.First!.Value.Id);
                _order.RemoveFirst();
            }

            _remembered[id] = _order.AddLast((id, now + _memory));
            running = _running.TryGetValue(id, out var list) ? [.. list] : [];
        }

        // Outside the lock: cancelling runs the chat call's callbacks.
        foreach (var source in running)
        {
            try
            {
                await source.CancelAsync();
            }
            catch (ObjectDisposedException)
            {
                // The run ended between the snapshot and now: nothing left to stop.
            }
        }

        return running.Length > 0 ? CancelDecision.StoppedRunning : CancelDecision.Remembered;
    }

    /// <summary>
    /// A run of job <paramref name="id"/> starts: its token is cancelled by a cancel request, and is cancelled already
    /// when the id was cancelled before it arrived. Dispose the handle when the run ends.
    /// </summary>
    public JobCancellation Track(string id, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(id);
        var source = new CancellationTokenSource();
        lock (_gate)
        {
            Expire(now);
            if (_remembered.ContainsKey(id))
            {
                source.Cancel();
            }

            if (!_running.TryGetValue(id, out var list))
            {
                _running[id] = list = new List<CancellationTokenSource>(1);
            }

            list.Add(source);
        }

        return new JobCancellation(this, id, source);
    }

    /// <summary>Runs of <paramref name="id"/> on this worker now.</summary>
    public bool IsRunning(string id)
    {
        lock (_gate)
        {
            return _running.ContainsKey(id);
        }
    }

    internal void Untrack(string id, CancellationTokenSource source)
    {
        lock (_gate)
        {
            if (_running.TryGetValue(id, out var list) && list.Remove(source) && list.Count == 0)
            {
                _running.Remove(id);
            }
        }
    }

    private void Expire(DateTimeOffset now)
    {
        while (_order.First is { } head && head.Value.Until <= now)
        {
            _remembered.Remove(head.Value.Id);
            _order.RemoveFirst();
        }
    }
}

/// <summary>What a cancel request did on this worker.</summary>
public enum CancelDecision
{
    /// <summary>Not running here: remembered, for when the job arrives.</summary>
    Remembered,

    /// <summary>Running here: stopped (and remembered, should it come back).</summary>
    StoppedRunning,
}

/// <summary>One run's cancellation by id; disposing it ends the tracking.</summary>
public sealed class JobCancellation : IDisposable
{
    private readonly CancelLedger _ledger;
    private readonly string _id;
    private readonly CancellationTokenSource _source;

    internal JobCancellation(CancelLedger ledger, string id, CancellationTokenSource source) => (_ledger, _id, _source) = (ledger, id, source);

    public CancellationToken Token => _source.Token;

    public bool IsCancellationRequested => _source.IsCancellationRequested;

    public void Dispose()
    {
        _ledger.Untrack(_id, _source);
        _source.Dispose();
    }
}
