using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Worker.Host.Configuration;
using Worker.Host.Contracts;
using Worker.Host.Resilience;

namespace Worker.Host.Intake;

/// <summary>
/// Decides whether the worker may start jobs. Each endpoint has its own breaker: one that opens marks only that
/// endpoint down (its jobs fall back along their chains, or wait in a delay queue), and jobs for other endpoints go
/// on. An outage of the whole worker — the runtime unreachable, or every endpoint down at once — pauses intake: the
/// job source stops consuming, jobs already buffered go back to the queue, and a probe runs every
/// <c>Resilience:BreakerBreakDuration</c> until the runtime and an endpoint answer; then intake resumes. A queue must
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
    private readonly IReadOnlyList<string> _endpoints;
    private readonly Dictionary<string, string> _down = new(StringComparer.Ordinal);
    private string? _reason;
    private int _outages;

    public IntakeController(IOutageProbe probe, IOptions<ResilienceOptions> options, ILogger<IntakeController> logger, TimeProvider? time = null, IOptions<LlmHostOptions>? llm = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _probe = probe;
        _endpoints = llm?.Value.EndpointNames() ?? [EndpointProviders.DefaultEndpoint];
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

    /// <summary>True while the endpoint's breaker is open (from its opening until a call through it succeeds).</summary>
    public bool IsEndpointDown(string endpoint)
    {
        lock (_lock)
        {
            return _down.ContainsKey(endpoint);
        }
    }

    /// <summary>Every endpoint a job can be sent to (<c>default</c> first).</summary>
    public IReadOnlyList<string> Endpoints => _endpoints;

    /// <summary>The endpoints down now, by name.</summary>
    public IReadOnlyList<string> DownEndpoints
    {
        get
        {
            lock (_lock)
            {
                return [.. _down.Keys.Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>
    /// An endpoint's breaker opened: only that endpoint is down. When that makes every endpoint down, intake pauses
    /// as for any outage (nothing could be answered, and consuming would only churn jobs through delay queues).
    /// </summary>
    public void ReportEndpointDown(string endpoint, string reason)
    {
        var safe = SafeText.Escape(reason);
        bool first;
        bool all;
        lock (_lock)
        {
            first = _down.TryAdd(endpoint, safe);
            all = _endpoints.All(_down.ContainsKey);
        }

        if (first)
        {
            LogEndpointDown(_logger, endpoint, safe);
        }

        if (all)
        {
            ReportOutage(_endpoints.Count == 1 ? safe : $"every endpoint is down (last: {endpoint}: {safe})");
        }
    }

    /// <summary>An endpoint's breaker closed (a call through it succeeded): it is up again.</summary>
    public void ReportEndpointUp(string endpoint)
    {
        bool was;
        lock (_lock)
        {
            was = _down.Remove(endpoint);
        }

        if (was)
        {
            LogEndpointUp(_logger, endpoint);
        }
    }

    /// <summary>
    /// How a job waits when its last candidate, <paramref name="endpoint"/>, failed with <paramref name="exception"/>
    /// (<see cref="Failover.Decide"/>); an unreachable runtime is reported as an outage of the whole worker.
    /// </summary>
    public OutageWait Hold(Exception exception, string endpoint)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception is Worker.Connector.ConnectorException { RuntimeUnavailable: true })
        {
            // The runtime is shared by every endpoint: the whole worker is out.
            ReportOutage(exception.Message);
        }
        else if (LlmPipeline.IsOutage(exception))
        {
            // Normally reported by the breaker as it opened; idempotent.
            ReportEndpointDown(endpoint, exception.Message);
        }

        return Failover.Decide(exception, IsEndpointDown(endpoint), IsPaused);
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

    [LoggerMessage(EventId = 111, Level = LogLevel.Warning, Message = "Endpoint {Endpoint} is down (circuit open); its jobs fall back or wait: {Reason}")]
    private static partial void LogEndpointDown(ILogger logger, string endpoint, string reason);

    [LoggerMessage(EventId = 112, Level = LogLevel.Information, Message = "Endpoint {Endpoint} is up again (circuit closed)")]
    private static partial void LogEndpointUp(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "Intake paused: {Reason}")]
    private static partial void LogPaused(ILogger logger, string reason);

    [LoggerMessage(EventId = 202, Level = LogLevel.Information, Message = "Probe succeeded; intake resumed")]
    private static partial void LogResumed(ILogger logger);

    [LoggerMessage(EventId = 110, Level = LogLevel.Information, Message = "Outage probe {Attempt}: runtime or endpoint still down")]
    private static partial void LogStillDown(ILogger logger, int attempt);
}
