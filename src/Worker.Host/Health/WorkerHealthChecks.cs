using Microsoft.Extensions.Diagnostics.HealthChecks;
using Worker.Connector;
using Worker.Connector.Client;
using Worker.Host.Consuming;
using Worker.Host.Intake;
using Worker.Host.Publishing;

namespace Worker.Host.Health;

/// <summary>Live: the consumer loop and the queue sampler are still running (neither has faulted or ended).</summary>
public sealed class LoopsHealthCheck(RabbitMqJobSource source, QueueSampler sampler) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        // ExecuteTask is null before start; a completed one means the loop died (or the host is stopping).
        if (source.ExecuteTask is { IsCompleted: true } consumer)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy($"the consumer loop has ended ({consumer.Status})", consumer.Exception));
        }

        if (sampler.ExecuteTask is { IsCompleted: true } sampling)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy($"the queue sampler has ended ({sampling.Status})", sampling.Exception));
        }

        return Task.FromResult(HealthCheckResult.Healthy("loops running"));
    }
}

/// <summary>Ready (broker): connected, not blocked by a resource alarm, and a consumer is registered on the jobs queue.</summary>
public sealed class BrokerHealthCheck(RabbitMqConnectionProvider connections, RabbitMqJobSource source, IntakeController intake) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(
            !connections.IsConnected ? HealthCheckResult.Unhealthy("broker not connected")
            : connections.IsBlocked ? HealthCheckResult.Unhealthy("broker blocks publishing (resource alarm)")

            // While intake is paused the consumer is cancelled on purpose; the intake check reports that.
            : !source.IsConsuming && !intake.IsPaused ? HealthCheckResult.Unhealthy("connected but not consuming")
            : HealthCheckResult.Healthy("connected and consuming"));
}

/// <summary>
/// Ready (intake): not paused. When paused, says so and why (the outage that paused it). Some endpoints down but
/// not all is degraded, not unhealthy: the worker still answers jobs for the others.
/// </summary>
public sealed class IntakeHealthCheck(IntakeController intake) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(intake.TryAdmit() is { Admitted: false } admission
            ? HealthCheckResult.Unhealthy($"paused: {admission.Reason}")
            : intake.DownEndpoints is { Count: > 0 } down
                ? HealthCheckResult.Degraded($"taking jobs; endpoint(s) down: {string.Join(", ", down)}")
                : HealthCheckResult.Healthy("taking jobs"));
}

/// <summary>Ready (runtime): the connector runtime answers its health check within 2 s.</summary>
public sealed class RuntimeHealthCheck(RuntimeClient runtime) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var health = await runtime.HealthCheckAsync(TimeSpan.FromSeconds(2), cancellationToken);
            return health.Healthy
                ? HealthCheckResult.Healthy($"runtime answering; {health.AvailableCredits} credit(s) free")
                : HealthCheckResult.Unhealthy("runtime reports itself unhealthy");
        }
        catch (ConnectorException ex)
        {
            return HealthCheckResult.Unhealthy($"runtime not answering: {ex.Message}");
        }
    }
}
