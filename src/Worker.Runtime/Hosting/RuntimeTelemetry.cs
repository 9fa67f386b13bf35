using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Worker.Runtime.Diagnostics;

namespace Worker.Runtime.Hosting;

/// <summary>
/// OpenTelemetry for the standalone runtime, by the Host's conventions: only when an OTLP endpoint is configured
/// (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, or its traces/metrics variant), with the exporter configured by the standard
/// <c>OTEL_*</c> variables (protocol, headers, export interval...). Without an endpoint nothing is registered, so an
/// unobserved daemon pays nothing.
/// </summary>
internal static class RuntimeTelemetry
{
    public const string DefaultServiceName = "connector-runtime";

    /// <summary>The .NET runtime's built-in meter (GC, thread pool, JIT, exceptions), on by default in .NET 9+.</summary>
    public const string DotNetRuntimeMeter = "System.Runtime";

    public static bool IsEnabled(IConfiguration configuration) =>
        !string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])
        || !string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"])
        || !string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"])
        || !string.IsNullOrEmpty(configuration["OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"]);

    public static IServiceCollection AddRuntimeTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (!IsEnabled(configuration))
        {
            return services;
        }

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(configuration["OTEL_SERVICE_NAME"] ?? DefaultServiceName))
            .WithTracing(tracing => tracing
                .AddSource(RuntimeDiagnostics.ActivitySourceName)
                .AddHttpClientInstrumentation()
                .AddOtlpExporter())
            .WithMetrics(metrics => metrics
                .AddMeter(RuntimeDiagnostics.MeterName, DotNetRuntimeMeter)
                .AddHttpClientInstrumentation()
                .AddOtlpExporter())
            .WithLogging(logging => logging.AddOtlpExporter());
        return services;
    }
}
