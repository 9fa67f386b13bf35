using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using Worker.Host.Configuration;
using Worker.Host.Telemetry;
using Worker.Runtime.Hosting;

namespace Worker.Host.Health;

/// <summary>The worker's health endpoints, queue sampling and Prometheus scrape endpoint (<c>Worker:HealthUrl</c>).</summary>
public static class WorkerHealthServiceCollectionExtensions
{
    public const string HealthUrlKey = $"{WorkerOptions.SectionName}:{nameof(WorkerOptions.HealthUrl)}";

    /// <summary>
    /// Always: the queue sampler and the held-job age gauge (their gauges also go to OTLP). When <c>Worker:HealthUrl</c> is set: <c>/healthz</c>
    /// (loops running) and <c>/readyz</c> (broker connected and consuming, intake not paused, runtime answering).
    /// </summary>
    public static IServiceCollection AddWorkerHealth(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddSingleton<JobAgeTelemetry>();
        services.AddSingleton<QueueSampler>();
        services.AddHostedService(sp => sp.GetRequiredService<QueueSampler>());
        if (HealthEndpointAddress.Parse(HealthUrlKey, configuration[HealthUrlKey]) is not { } address)
        {
            return services;
        }

        // Before the Prometheus exporter (same port) or anything else is built: a port in use is a configuration error.
        HealthEndpointPortCheck.EnsureAvailable(address);
        services.AddHealthChecks()
            .AddCheck<LoopsHealthCheck>("loops", tags: [HealthTags.Live])
            .AddCheck<BrokerHealthCheck>("broker", tags: [HealthTags.Ready])
            .AddCheck<IntakeHealthCheck>("intake", tags: [HealthTags.Ready])
            .AddCheck<RuntimeHealthCheck>("runtime", tags: [HealthTags.Ready]);
        services.AddSingleton(address);
        services.AddHostedService<HealthEndpointServer>();
        return services;
    }

    /// <summary>
    /// The Prometheus exporter for every meter the worker exports, at <c>/metrics</c> on the health port (its own
    /// HttpListener, sharing the port with the health endpoints by path). Nothing when <c>Worker:HealthUrl</c> is unset.
    /// </summary>
    public static MeterProviderBuilder AddWorkerPrometheus(this MeterProviderBuilder metrics, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (HealthEndpointAddress.Parse(HealthUrlKey, configuration[HealthUrlKey]) is { } address)
        {
            metrics.AddPrometheusHttpListener(options =>
            {
                options.Host = address.ListenerHost;
                options.Port = address.Port;
                options.ScrapeEndpointPath = "/metrics";
            });
        }

        return metrics;
    }
}
