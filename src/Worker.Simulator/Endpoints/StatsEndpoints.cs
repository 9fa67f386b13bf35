using Worker.Simulator.Http;
using Worker.Simulator.Json;
using Worker.Simulator.Stats;

namespace Worker.Simulator.Endpoints;

/// <summary><c>GET /stats</c> and its reset (<c>POST /stats/reset</c> or <c>DELETE /stats</c>).</summary>
internal sealed class StatsEndpoints(SimulatorStats stats)
{
    public Task GetAsync(HttpContext context) => context.Response.WriteAsJsonAsync(
        stats.Snapshot(),
        SnakeCaseJsonContext.Default.SimulatorStatsSnapshot,
        ContentTypes.Json,
        context.RequestAborted);

    public Task ResetAsync(HttpContext context)
    {
        stats.Reset();
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }
}
