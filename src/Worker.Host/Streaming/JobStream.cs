using System.Text;
using Microsoft.Extensions.Logging;
using Worker.Connector.OpenAi;
using Worker.Host.Contracts;

namespace Worker.Host.Streaming;

/// <summary>
/// Watches one job's streamed answer: keeps the current attempt's text (choice 0: the partial answer for a cancelled
/// job) and, when the job asked for deltas, hands it to a pump that publishes coalesced, numbered deltas in order.
/// The SSE read path only appends under a lock and at most wakes the pump; publishing happens on the pump's own flow,
/// one delta at a time, so a slow broker makes deltas larger, never the stream slower.
/// </summary>
public sealed partial class JobStream : IChatStreamObserver, IAsyncDisposable
{
    private readonly Job _job;
    private readonly IDeltaPublisher? _publisher;
    private readonly DeltaCoalescer? _coalescer;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly StringBuilder _text = new();
    // Released only under _gate and only while _awake is false, so it holds at most about one count.
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly long _origin;
    private bool _awake;
    private bool _completing;
    private bool _failed;
    private Task? _pump;

    /// <summary>With a null <paramref name="publisher"/>, no deltas: only the partial text is kept.</summary>
    public JobStream(Job job, IDeltaPublisher? publisher, TimeSpan interval, int maxPieces, ILogger logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        _job = job;
        _publisher = publisher;
        _coalescer = publisher is null ? null : new DeltaCoalescer(interval, maxPieces);
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _origin = _time.GetTimestamp();
    }

    /// <summary>Deltas published so far (all attempts).</summary>
    public int Published { get; private set; }

    /// <summary>The text the current attempt has streamed so far (choice 0).</summary>
    public string PartialText
    {
        get
        {
            lock (_gate)
            {
                return _text.ToString();
            }
        }
    }

    /// <summary>An attempt (counted over the job's life, from 1) starts a fresh stream.</summary>
    public void BeginAttempt(int attempt)
    {
        lock (_gate)
        {
            _text.Clear();
            _coalescer?.BeginAttempt(attempt, Now);
        }
    }

    /// <summary>True once any attempt of this job saw its first token (a fallback to another endpoint is then too late).</summary>
    public bool FirstTokenSeen => Volatile.Read(ref _firstTokenSeen);

    private bool _firstTokenSeen;

    public ValueTask OnFirstTokenAsync(TimeSpan timeToFirstToken, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _firstTokenSeen, true);
        return ValueTask.CompletedTask;
    }

    public ValueTask OnDeltaAsync(ChatDelta delta, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delta);
        if (delta.ChoiceIndex != 0)
        {
            return ValueTask.CompletedTask;
        }

        lock (_gate)
        {
            _text.Append(delta.Content);
            if (_coalescer is null || _failed)
            {
                return ValueTask.CompletedTask;
            }

            var wasEmpty = !_coalescer.HasPending;
            // The pump sleeps while nothing is pending: the first piece starts its timer, a full count makes it due.
            if (_coalescer.Append(delta.Content) || wasEmpty)
            {
                WakeLocked();
            }

            _pump ??= Task.Run(PumpAsync, CancellationToken.None);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// The stream ended (answered, or cancelled): publishes what is still pending as the last delta and waits for the
    /// pump, so every delta is confirmed before the final result is published.
    /// </summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        Task? pump;
        lock (_gate)
        {
            _completing = true;
            pump = _pump;
            WakeLocked();
        }

        if (pump is not null)
        {
            await pump.WaitAsync(cancellationToken);
        }
    }

    private TimeSpan Now => _time.GetElapsedTime(_origin);

    private void WakeLocked()
    {
        if (!_awake)
        {
            _awake = true;
            _wake.Release();
        }
    }

    private async Task PumpAsync()
    {
        var token = _stop.Token;
        try
        {
            while (true)
            {
                TimeSpan? due;
                bool completing;
                lock (_gate)
                {
                    due = _coalescer!.DueIn(Now);
                    completing = _completing;
                }

                if (!completing && due != TimeSpan.Zero)
                {
                    // Sleep until woken (a piece after a quiet spell, a full count, the end) or the interval is up.
                    await _wake.WaitAsync(due ?? Timeout.InfiniteTimeSpan, token);
                    lock (_gate)
                    {
                        // Woken or timed out: either way no wake-up is owed any more.
                        while (_wake.CurrentCount > 0)
                        {
                            _wake.Wait(0, CancellationToken.None);
                        }

                        _awake = false;
                    }

                    continue;
                }

                JobDelta? delta = null;
                lock (_gate)
                {
                    if (_coalescer!.TryTake(Now, out var taken))
                    {
                        delta = new JobDelta { Id = _job.Id, Tenant = _job.Tenant, Attempt = taken.Attempt, Seq = taken.Seq, Content = taken.Content };
                    }
                    else if (_completing)
                    {
                        return;
                    }
                }

                if (delta is not null)
                {
                    await _publisher!.PublishDeltaAsync(delta, token);
                    Published++;
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // A delta that cannot be published ends this job's deltas (a gap would mislead readers); the job goes on.
            lock (_gate)
            {
                _failed = true;
            }

            LogDeltasStopped(_logger, _job.Id, ex.GetType().Name, ex.Message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_pump is { } pump)
        {
            await pump.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _stop.Dispose();
        _wake.Dispose();
    }

    [LoggerMessage(EventId = 140, Level = LogLevel.Information, Message = "Job {JobId}: deltas stopped, one could not be published ({Error}: {Reason}); the final result follows as usual")]
    private static partial void LogDeltasStopped(ILogger logger, string jobId, string error, string reason);
}
