namespace Worker.Runtime.Server;

/// <summary>
/// The two stages of stopping, shared with every connection: draining (new requests are refused, those in flight
/// continue) and aborting (the drain time is up; requests still in flight are cancelled and answered Transient).
/// </summary>
internal sealed class ServerLifetime : IDisposable
{
    public const string ShuttingDownMessage = "runtime shutting down";

    private readonly CancellationTokenSource _draining = new();
    private readonly CancellationTokenSource _aborting = new();

    public bool IsDraining => _draining.IsCancellationRequested;

    /// <summary>Cancelled when the drain starts: wakes connections waiting for a credit.</summary>
    public CancellationToken Draining => _draining.Token;

    /// <summary>Cancelled when the drain time is up: cancels the upstream calls still running.</summary>
    public CancellationToken Aborting => _aborting.Token;

    public Task BeginDrainAsync() => _draining.CancelAsync();

    public Task AbortAsync() => _aborting.CancelAsync();

    public void Dispose()
    {
        _draining.Dispose();
        _aborting.Dispose();
    }
}
