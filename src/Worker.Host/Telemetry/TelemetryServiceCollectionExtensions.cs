using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
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

    /// <summary>
    /// OpenTelemetry tracing and metrics. OTLP export is on when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or the traces/metrics
    /// variant) is set, configured by the standard <c>OTEL_*</c> variables; <c>Telemetry:Console=true</c> adds the console exporter.
    /// </summary>
    public static IServiceCollection AddWorkerTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddSingleton<WorkerTelemetry>();
        var otlp = !string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])
            || !string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"])
            || !string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"]);
        var console = configuration.GetValue("Telemetry:Console", false);
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(configuration["OTEL_SERVICE_NAME"] ?? "llm-worker"))
            .WithTracing(tracing =>
            {
                tracing.AddSource(TraceSources).AddHttpClientInstrumentation();
                if (otlp)
                {
                    tracing.AddOtlpExporter();
                }

                if (console)
                {
                    tracing.AddConsoleExporter();
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(WorkerTelemetry.SourceName, "Worker.Runtime").AddHttpClientInstrumentation();
                metrics.AddWorkerPrometheus(configuration);
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }

                if (console)
                {
                    metrics.AddConsoleExporter();
                }
            });
        return services;
    }
}
