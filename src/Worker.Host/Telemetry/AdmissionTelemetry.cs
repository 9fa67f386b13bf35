using System.Diagnostics.Metrics;
using Worker.Host.Intake;

namespace Worker.Host.Telemetry;

/// <summary>
/// Admission's metrics: how long jobs wait and why, how many went back to the broker to wait, the 429s, and per
/// endpoint and model the current concurrency limit, this worker's share and the limits the endpoint reports. Tokens
/// used per tenant and model are counters (a per-minute rate in any backend) to compare with the reported limit.
/// </summary>
public sealed class AdmissionTelemetry : IDisposable
{
    private readonly Meter _meter;
    private readonly Histogram<double> _wait;
    private readonly Counter<long> _deferred;
    private readonly Counter<long> _rateLimited;
    private readonly Counter<long> _tenantTokens;
    private readonly Counter<long> _tokens;
    private JobAdmission? _admission;

    public AdmissionTelemetry(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(WorkerTelemetry.SourceName);
        _wait = _meter.CreateHistogram("worker.admission.wait", "s", "Time a call waited for admission (by the limit that held it).", tags: null,
            new InstrumentAdvice<double> { HistogramBucketBoundaries = [0, 0.005, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        _deferred = _meter.CreateCounter<long>("worker.admission.deferred", "{job}", "Jobs sent back to the broker to wait in a delay queue (by reason).");
        _rateLimited = _meter.CreateCounter<long>("worker.llm.rate_limited", "{response}", "429 answers from the endpoint.");
        _tenantTokens = _meter.CreateCounter<long>("worker.tenant.tokens", "{token}", "Tokens used per tenant (usage the endpoint reported).");
        _tokens = _meter.CreateCounter<long>("worker.admission.tokens", "{token}", "Tokens used per model (usage the endpoint reported).");
        _meter.CreateObservableGauge("worker.admission.concurrency_limit", () => Each(line => line.ConcurrencyLimit), "{call}", "Calls allowed at once to the endpoint and model now.");
        _meter.CreateObservableGauge("worker.admission.in_flight", () => Each(line => line.InFlight), "{call}", "Calls to the endpoint and model now.");
        _meter.CreateObservableGauge("worker.admission.share", () => Each(line => line.Limits.Share), "1", "This worker's share of the endpoint's rate limits (1 = all of it).");
        _meter.CreateObservableGauge("worker.admission.limit.requests_per_minute", () => Each(line => line.Limits.RequestsPerMinute), "{request}/min", "Requests per minute the endpoint allows (reported or configured; 0 = unknown).");
        _meter.CreateObservableGauge("worker.admission.limit.tokens_per_minute", () => Each(line => line.Limits.TokensPerMinute), "{token}/min", "Tokens per minute the endpoint allows (reported or configured; 0 = unknown).");
    }

    internal void Observe(JobAdmission admission) => _admission = admission;

    public void Waited(string model, TimeSpan waited, string? reason) =>
        _wait.Record(waited.TotalSeconds, new("gen_ai.request.model", model), new("worker.admission.reason", reason ?? "none"));

    public void Deferred(string model, string reason) =>
        _deferred.Add(1, new("gen_ai.request.model", model), new("worker.admission.reason", reason));

    public void RateLimited(string model, string? limitedBy) =>
        _rateLimited.Add(1, new("gen_ai.request.model", model), new("worker.admission.reason", limitedBy ?? "unknown"));

    public void TenantTokens(string tenant, double used) =>
        _tenantTokens.Add((long)used, new KeyValuePair<string, object?>("worker.tenant", tenant));

    public void ModelTokens(string model, double used) =>
        _tokens.Add((long)used, new KeyValuePair<string, object?>("gen_ai.request.model", model));

    private IEnumerable<Measurement<T>> Each<T>(Func<EndpointAdmission, T> read)
        where T : struct
    {
        if (_admission is null)
        {
            yield break;
        }

        foreach (var (endpoint, model, line) in _admission.Lines)
        {
            yield return new Measurement<T>(read(line), new("server.address", endpoint), new("gen_ai.request.model", model));
        }
    }

    public void Dispose() => _meter.Dispose();
}
