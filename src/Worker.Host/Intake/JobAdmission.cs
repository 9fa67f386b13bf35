using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Worker.Host.Configuration;
using Worker.Host.Telemetry;

namespace Worker.Host.Intake;

/// <summary>
/// Admission, the intake's second half (the first is <see cref="IntakeController"/>'s outage pause): when may a job's
/// call go to its endpoint and model, given the limits the endpoint reports, the calls it can take at once, and the
/// job's tenant budget. One waiting line per endpoint and model; tenant budgets per worker.
/// </summary>
public sealed class JobAdmission : IDisposable
{
    private readonly LimitsOptions _options;
    private readonly int _maxConcurrency;
    private readonly TimeProvider _time;
    private readonly AdmissionTelemetry _telemetry;
    private readonly ConcurrentDictionary<(string Endpoint, string Model), EndpointAdmission> _lines = new();
    private readonly TenantBudgets _tenants;
    private readonly Lock _tenantLock = new();

    public JobAdmission(IOptions<LimitsOptions> options, IOptions<WorkerOptions> worker, AdmissionTelemetry telemetry, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(worker);
        _options = options.Value;
        _maxConcurrency = worker.Value.Concurrency;
        _telemetry = telemetry;
        _time = time ?? TimeProvider.System;
        _tenants = new TenantBudgets(_options.Tenants, Now);
        Estimator = new TokenEstimator(_options.DefaultOutputTokens);
        telemetry.Observe(this);
    }

    public TokenEstimator Estimator { get; }

    /// <summary>Longest in-process wait for a tenant's budget; longer waits go through the delay queues.</summary>
    public static TimeSpan TenantMaxWait { get; } = TimeSpan.FromMilliseconds(250);

    private const int MaxLines = 64;

    private TimeSpan Now => _time.GetElapsedTime(0);

    /// <summary>Charges the job's estimate to its tenant, or says how long until the tenant's budget allows it.</summary>
    public TimeSpan TakeTenantBudget(string tenant, double tokens)
    {
        lock (_tenantLock)
        {
            return _tenants.TryTake(tenant, tokens, Now);
        }
    }

    /// <summary>Corrects the tenant's charge with the usage the endpoint reported.</summary>
    public void SettleTenant(string tenant, double estimated, double used)
    {
        lock (_tenantLock)
        {
            _tenants.Adjust(tenant, used - estimated);
        }

        // Tenants come from jobs too: only configured ones become a metric tag.
        _telemetry.TenantTokens(_tenants.Has(tenant) ? tenant : "other", used);
    }

    /// <summary>Waits until the call may be made (see <see cref="EndpointAdmission"/>); dispose the lease when it ended, with its report.</summary>
    public async Task<AdmissionLease> AcquireAsync(AdmissionTicket ticket, CancellationToken cancellationToken)
    {
        // Models come from jobs: past a few distinct ones, the rest share a line, so job content cannot grow this map.
        var key = _lines.Count < MaxLines || _lines.ContainsKey((ticket.Endpoint, ticket.Model)) ? (ticket.Endpoint, ticket.Model) : (ticket.Endpoint, "*");
        var line = _lines.GetOrAdd(key, static (_, self) => self.NewLine(), this);
        try
        {
            var (sentAt, waited, reason) = await line.AcquireAsync(ticket, cancellationToken);
            _telemetry.Waited(ticket.Model, waited, reason);
            return new AdmissionLease(line, sentAt, ticket.EstimatedTokens, waited, reason);
        }
        catch (AdmissionDeferredException ex)
        {
            _telemetry.Deferred(ticket.Model, ex.Reason);
            throw;
        }
    }

    /// <summary>A snapshot per endpoint and model, for metrics.</summary>
    internal IEnumerable<(string Endpoint, string Model, EndpointAdmission Line)> Lines =>
        _lines.Select(pair => (pair.Key.Endpoint, pair.Key.Model, pair.Value));

    private EndpointAdmission NewLine() =>
        new(new EndpointPacer(_options.RequestsPerMinute, _options.TokensPerMinute, Now),
            new ConcurrencyLimit(_maxConcurrency, _options.AdaptiveConcurrency), _options.MaxWait, _time);

    public void Dispose()
    {
        foreach (var line in _lines.Values)
        {
            line.Dispose();
        }
    }
}

/// <summary>One admitted call. <see cref="Complete"/> reports how it ended (exactly once).</summary>
public sealed class AdmissionLease
{
    private readonly EndpointAdmission _line;
    private readonly TimeSpan _sentAt;
    private readonly double _tokens;
    private int _completed;

    internal AdmissionLease(EndpointAdmission line, TimeSpan sentAt, double tokens, TimeSpan waited, string? reason)
    {
        _line = line;
        _sentAt = sentAt;
        _tokens = tokens;
        Waited = waited;
        Reason = reason;
    }

    /// <summary>How long the call waited for admission.</summary>
    public TimeSpan Waited { get; }

    /// <summary>What it waited for (requests, tokens, rate_limited, concurrency), or null.</summary>
    public string? Reason { get; }

    public void Complete(CallReport report)
    {
        if (Interlocked.Exchange(ref _completed, 1) == 0)
        {
            _line.Release(_sentAt, _tokens, report);
        }
    }
}
