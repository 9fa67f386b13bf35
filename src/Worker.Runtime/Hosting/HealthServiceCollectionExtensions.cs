using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Worker.Connector.Client;

namespace Worker.Runtime.Hosting;

/// <summary>Health endpoints for the standalone runtime daemon (<c>Runtime:HealthUrl</c>, off unless set).</summary>
public static class HealthServiceCollectionExtensions
{
    public const string RuntimeHealthUrlKey = "Runtime:HealthUrl";

    /// <summary>
    /// When <c>Runtime:HealthUrl</c> is set: <c>/healthz</c> (the process answers) and <c>/readyz</c> (the runtime
    /// answers a HealthCheck on its own socket, as its clients would ask it, and has credits left).
    /// </summary>
    public static IServiceCollection AddRuntimeHealthEndpoint(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (HealthEndpointAddress.Parse(RuntimeHealthUrlKey, configuration[RuntimeHealthUrlKey]) is not { } address)
        {
            return services;
        }

        HealthEndpointPortCheck.EnsureAvailable(address);
        services.AddOptions<RuntimeClientOptions>().Bind(configuration.GetSection(RuntimeClientOptions.SectionName));
        services.AddSingleton(sp => new HealthRuntimeProbe(
            new RuntimeClient(new RuntimeClientOptions
            {
                // Its own socket (or TCP port), the same keys the server reads; one connection is enough for probes.
                SocketPath = sp.GetRequiredService<IOptions<RuntimeClientOptions>>().Value.SocketPath,
                UseTcp = sp.GetRequiredService<IOptions<RuntimeClientOptions>>().Value.UseTcp,
                TcpPort = sp.GetRequiredService<IOptions<RuntimeClientOptions>>().Value.TcpPort,
                PoolSize = 1,
                ConnectTimeout = TimeSpan.FromSeconds(2),
            }, sp.GetService<ILogger<RuntimeClient>>())));
        services.AddHealthChecks()
            .AddCheck("process", () => HealthCheckResult.Healthy("running"), [HealthTags.Live])
            .AddCheck<HealthRuntimeProbe>("runtime", tags: [HealthTags.Ready]);
        services.AddSingleton(address);
        services.AddHostedService<HealthEndpointServer>();
        return services;
    }
}

/// <summary>Ready = the runtime answers a HealthCheck frame on its own listener within 2 s and reports itself healthy.</summary>
public sealed class HealthRuntimeProbe : IHealthCheck, IAsyncDisposable
{
    private readonly RuntimeClient _client;

    public HealthRuntimeProbe(RuntimeClient client) => _client = client;

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var health = await _client.HealthCheckAsync(TimeSpan.FromSeconds(2), cancellationToken);
            return health.Healthy
                ? HealthCheckResult.Healthy($"answering; {health.ActiveRequests} request(s) in flight")
                : HealthCheckResult.Unhealthy("the runtime reports itself unhealthy");
        }
        catch (Worker.Connector.ConnectorException ex)
        {
            return HealthCheckResult.Unhealthy($"not answering its health check: {ex.Message}");
        }
    }

    public ValueTask DisposeAsync() => _client.DisposeAsync();
}
