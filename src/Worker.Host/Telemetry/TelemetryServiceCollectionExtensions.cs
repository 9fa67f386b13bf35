using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using RabbitMQ.Client;
using Worker.Connector;
using Worker.Host.Health;

namespace Worker.Host.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>The ActivitySources whose spans make up a job's trace.</summary>
    public static readonly string[] TraceSources =
    [
        WorkerTelemetry.SourceName,
        ConnectorDiagnostics.ActivitySourceName,
        "Worker.Runtime",
        RabbitMQActivitySource.PublisherSourceName,
    ];

    /// <summary>The meters exported: the worker's, the runtime's, Polly's (retries, breaker) and .NET's own (GC, thread pool).</summary>
    public static readonly string[] Meters = [WorkerTelemetry.SourceName, "Worker.Runtime", "Polly", "System.Runtime"];

    /// <summary>
    /// OpenTelemetry tracing, metrics and logs. OTLP export is on when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or the
    /// traces/metrics/logs variant) is set, configured by the standard <c>OTEL_*</c> variables; <c>Telemetry:Console=true</c>
    /// adds the console exporter. Sampling is parent-based: a job whose producer sent a sampled <c>traceparent</c> is
    /// traced, one sent unsampled is not, and a job without one is sampled at <c>Telemetry:SampleRatio</c> (default 1).
    /// </summary>
    public static IServiceCollection AddWorkerTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddSingleton<WorkerTelemetry>();
        services.AddSingleton<AdmissionTelemetry>();
        var otlp = !string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])
            || !string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"])
            || !string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"])
            || !string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"]);
        var ratio = Math.Clamp(configuration.GetValue("Telemetry:SampleRatio", 1.0), 0.0, 1.0);
        var console = configuration.GetValue("Telemetry:Console", false);
        var builder = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(configuration["OTEL_SERVICE_NAME"] ?? "llm-worker"));

        // Spans only when something takes them: a sampled span per job, HTTP call and publish that no exporter reads is
        // pure cost (allocations, tags, traceparent headers). Telemetry:Tracing=true keeps them for an exporter or
        // processor added in code.
        if (otlp || console || configuration.GetValue("Telemetry:Tracing", false))
        {
            builder.WithTracing(tracing =>
            {
                tracing.SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(ratio)))
                    .AddSource(TraceSources).AddHttpClientInstrumentation();
                if (otlp)
                {
                    tracing.AddOtlpExporter();
                }

                if (console)
                {
                    tracing.AddConsoleExporter();
                }
            });
        }

        builder
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(Meters).AddHttpClientInstrumentation();
                metrics.AddWorkerPrometheus(configuration);
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }

                if (console)
                {
                    metrics.AddConsoleExporter();
                }
            })
            .WithLogging(logging =>
            {
                if (otlp)
                {
                    logging.AddOtlpExporter();
                }
            });
        return services;
    }
}
