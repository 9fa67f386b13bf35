namespace Worker.Host.Intake;

/// <summary>
/// The waiting line of one endpoint and model: jobs are admitted in arrival order when both the rate pacer and the
/// concurrency limit allow. One waiter at a time (the head) watches the clock; the others wait behind it, so a
/// release wakes one job, not all of them. A job that would wait longer than <c>MaxWait</c>, or past its deadline,
/// is refused with <see cref="AdmissionDeferredException"/> and goes back to the broker.
/// </summary>
internal sealed class EndpointAdmission : IDisposable
{
    private readonly EndpointPacer _pacer;
    private readonly ConcurrencyLimit _concurrency;
    private readonly TimeSpan _maxWait;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _line = new(1, 1);
    private readonly Lock _lock = new();
    private TaskCompletionSource _released = NewSignal();

    // Until the endpoint has answered once, one call at a time: its first answer carries the limits, and a burst sent
    // before knowing them is a burst of 429s. For at most ProbeTime, so an endpoint that hangs costs the jobs behind
    // the first call a second, not an attempt's timeout.
    private static readonly TimeSpan ProbeTime = TimeSpan.FromSeconds(1);
    private bool _answered;
    private TimeSpan? _firstSentAt;

    public EndpointAdmission(EndpointPacer pacer, ConcurrencyLimit concurrency, TimeSpan maxWait, TimeProvider time)
    {
        _pacer = pacer;
        _concurrency = concurrency;
        _maxWait = maxWait;
        _time = time;
    }

    public int ConcurrencyLimit
    {
        get
        {
            lock (_lock)
            {
                return _concurrency.Limit;
            }
        }
    }

    public int InFlight
    {
        get
        {
            lock (_lock)
            {
                return _concurrency.InFlight;
            }
        }
    }

    public (double Share, long RequestsPerMinute, long TokensPerMinute) Limits
    {
        get
        {
            lock (_lock)
            {
                return (_pacer.Share, _pacer.RequestsPerMinute, _pacer.TokensPerMinute);
            }
        }
    }

    /// <summary>Waits for admission; returns when it waited and why (null reason: not at all).</summary>
    public async Task<(TimeSpan SentAt, TimeSpan Waited, string? Reason)> AcquireAsync(AdmissionTicket ticket, CancellationToken cancellationToken)
    {
        var start = _time.GetElapsedTime(0);
        string? reason = null;
        lock (_lock)
        {
            if (ticket.EstimatedTokens > _pacer.TokenCapacity)
            {
                throw new AdmissionRefusedException(
                    $"the request may use {ticket.EstimatedTokens:0} tokens (prompt + max_tokens), more than the endpoint allows per minute ({_pacer.TokenCapacity:0})");
            }
        }

        if (!await _line.WaitAsync(_maxWait, cancellationToken))
        {
            throw Defer(ticket, _maxWait, "queue");
        }

        try
        {
            while (true)
            {
                var now = _time.GetElapsedTime(0);
                TimeSpan wait;
                Task released;
                lock (_lock)
                {
                    if (!_answered && _firstSentAt is { } first && now - first < ProbeTime && _concurrency.InFlight >= 1)
                    {
                        (wait, reason) = (ProbeTime - (now - first), "first_answer");
                    }
                    else if (_concurrency.InFlight >= _concurrency.Limit)
                    {
                        (wait, reason) = (TimeSpan.MaxValue, "concurrency");
                    }
                    else
                    {
                        var (paced, why) = _pacer.TryTake(now, ticket.EstimatedTokens);
                        if (paced == TimeSpan.Zero)
                        {
                            _firstSentAt ??= now;
                            _concurrency.TryAcquire();
                            return (now, now - start, reason);
                        }

                        (wait, reason) = (paced, why);
                    }

                    released = _released.Task;
                }

                var waited = now - start;
                var remaining = _maxWait - waited;
                if (wait != TimeSpan.MaxValue && (wait > remaining || _time.GetUtcNow() + wait > ticket.Deadline))
                {
                    throw Defer(ticket, wait, reason!);
                }

                if (remaining <= TimeSpan.Zero)
                {
                    throw Defer(ticket, TimeSpan.FromSeconds(1), reason!);
                }

                using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var delay = Task.Delay(wait < remaining ? wait : remaining, _time, timer.Token);
                await Task.WhenAny(released, delay);
                await timer.CancelAsync();
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            _line.Release();
        }
    }

    /// <summary>Ends an admitted call.</summary>
    public void Release(TimeSpan sentAt, double tokens, CallReport report)
    {
        var now = _time.GetElapsedTime(0);
        lock (_lock)
        {
            if (report.Sent)
            {
                _answered = true;
                _pacer.Observe(now, sentAt, tokens, report.RateLimit, report.RateLimited, report.RetryAfter);
            }
            else
            {
                _pacer.Refund(tokens);
            }

            _concurrency.Release(now, report.Latency, report.RateLimited || report.Overloaded);
            _released.TrySetResult();
            _released = NewSignal();
        }
    }

    private AdmissionDeferredException Defer(AdmissionTicket ticket, TimeSpan wait, string reason) =>
        new(wait, reason, _time.GetUtcNow() + wait > ticket.Deadline);

    public void Dispose() => _line.Dispose();

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>The call can never be admitted (e.g. it asks for more tokens than the endpoint allows per minute): the job fails.</summary>
public sealed class AdmissionRefusedException : Exception
{
    public AdmissionRefusedException()
    {
    }

    public AdmissionRefusedException(string message)
        : base(message)
    {
    }

    public AdmissionRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
