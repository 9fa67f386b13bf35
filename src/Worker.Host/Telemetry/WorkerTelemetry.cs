using System.Diagnostics;
using System.Diagnostics.Metrics;
using Worker.Connector.OpenAi;

namespace Worker.Host.Telemetry;

/// <summary>The worker's spans and metrics. Names follow the OpenTelemetry messaging and gen_ai conventions.</summary>
public sealed class WorkerTelemetry : IDisposable
{
    public const string SourceName = "Worker.Host";

    private readonly Meter _meter;
    private readonly Counter<long> _jobs;
    private readonly Histogram<double> _duration;
    private readonly Histogram<int> _attempts;
    private readonly UpDownCounter<int> _inFlight;
    private readonly Counter<long> _tokens;

    public WorkerTelemetry(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(SourceName);
        _jobs = _meter.CreateCounter<long>("worker.jobs", "{job}", "Jobs finished, by outcome (succeeded, failed, poison, requeued).");
        _duration = _meter.CreateHistogram<double>("worker.job.duration", "s", "Time from delivery to result confirmed.");
        _attempts = _meter.CreateHistogram<int>("worker.job.attempts", "{attempt}", "LLM attempts per finished job.");
        _inFlight = _meter.CreateUpDownCounter<int>("worker.jobs.in_flight", "{job}", "Jobs being processed.");
        _tokens = _meter.CreateCounter<long>("gen_ai.client.token.usage", "{token}", "Tokens used, by gen_ai.token.type (input, output).");
    }

    public ActivitySource ActivitySource { get; } = new(SourceName);

    public void JobStarted() => _inFlight.Add(1);

    public void JobEnded(string outcome, TimeSpan duration, int attempts)
    {
        _inFlight.Add(-1);
        var tag = new KeyValuePair<string, object?>("outcome", outcome);
        _jobs.Add(1, tag);
        _duration.Record(duration.TotalSeconds, tag);
        if (attempts > 0)
        {
            _attempts.Record(attempts, tag);
        }
    }

    public void Tokens(ChatUsage? usage, string model)
    {
        if (usage is null)
        {
            return;
        }

        var modelTag = new KeyValuePair<string, object?>("gen_ai.request.model", model);
        _tokens.Add(usage.PromptTokens, new KeyValuePair<string, object?>("gen_ai.token.type", "input"), modelTag);
        _tokens.Add(usage.CompletionTokens, new KeyValuePair<string, object?>("gen_ai.token.type", "output"), modelTag);
    }

    public void Dispose()
    {
        ActivitySource.Dispose();
        _meter.Dispose();
    }
}
