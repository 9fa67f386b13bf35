using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Worker.Host.Configuration;
using Worker.Host.Contracts;

namespace Worker.Host.Intake;

/// <summary>
/// Decides whether the worker may start jobs. An outage (the LLM breaker opened, the runtime unreachable) pauses
/// intake: the job source stops consuming, jobs already buffered go back to the queue, and a probe runs every
/// <c>Resilience:BreakerBreakDuration</c> until the runtime and the endpoint answer; then intake resumes. A queue must
/// never be drained into failed results by an outage.
/// </summary>
public sealed partial class IntakeController : IAsyncDisposable
{
    private readonly IOutageProbe _probe;
    private readonly TimeSpan _probeInterval;
    private readonly TimeProvider _time;
    private readonly ILogger<IntakeController> _logger;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _stopping = new();
    private TaskCompletionSource<string> _paused = NewSignal<string>();
    private TaskCompletionSource<bool> _resumed = NewSignal<bool>();
    private Task _probing = Task.CompletedTask;
    private string? _reason;
    private int _outages;

    public IntakeController(IOutageProbe probe, IOptions<ResilienceOptions> options, ILogger<IntakeController> logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _probe = probe;
        _probeInterval = options.Value.BreakerBreakDuration;
        _logger = logger;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>True from an outage report until a probe succeeds.</summary>
    public bool IsPaused => Volatile.Read(ref _reason) is not null;

    /// <summary>Outages reported so far (each pause counts once).</summary>
    public int OutageCount => Volatile.Read(ref _outages);

    /// <summary>May a job start now, and if not, when to ask again.</summary>
    public Admission TryAdmit() => Volatile.Read(ref _reason) is { } reason ? Admission.Wait(reason) : Admission.Admit;

    /// <summary>Pauses intake (once per outage) and starts probing.</summary>
    public void ReportOutage(string reason)
    {
        var safe = SafeText.Escape(reason);
        lock (_lock)
        {
            if (_reason is not null)
            {
                return;
            }

            Volatile.Write(ref _reason, safe);
            Interlocked.Increment(ref _outages);
            _resumed = NewSignal<bool>();
            _paused.TrySetResult(safe);
            _probing = ProbeUntilHealthyAsync(_stopping.Token);
        }

        LogPaused(_logger, safe);
    }

    /// <summary>Completes with the reason when intake pauses.</summary>
    public Task<string> WaitForPauseAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return _paused.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Completes when intake resumes (at once when it is not paused).</summary>
    public Task WaitForResumeAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return _reason is null ? Task.CompletedTask : _resumed.Task.WaitAsync(cancellationToken);
        }
    }

    private async Task ProbeUntilHealthyAsync(CancellationToken cancellationToken)
    {
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                await Task.Delay(_probeInterval, _time, cancellationToken);
                if (await _probe.IsHealthyAsync(_probeInterval, cancellationToken))
                {
                    break;
                }

                LogStillDown(_logger, attempt);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }

        lock (_lock)
        {
            Volatile.Write(ref _reason, null);
            _paused = NewSignal<string>();
            _resumed.TrySetResult(true);
        }

        LogResumed(_logger);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _probing;
        _stopping.Dispose();
    }

    private static TaskCompletionSource<T> NewSignal<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "Intake paused: {Reason}")]
    private static partial void LogPaused(ILogger logger, string reason);

    [LoggerMessage(EventId = 202, Level = LogLevel.Information, Message = "Probe succeeded; intake resumed")]
    private static partial void LogResumed(ILogger logger);

    [LoggerMessage(EventId = 110, Level = LogLevel.Information, Message = "Outage probe {Attempt}: runtime or endpoint still down")]
    private static partial void LogStillDown(ILogger logger, int attempt);
}
