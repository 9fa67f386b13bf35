using System.Net;
using Worker.Simulator.Stats;
using Worker.Simulator.Tests.Infrastructure;
using static Worker.Simulator.Tests.Infrastructure.SimulatorHttp;

namespace Worker.Simulator.Tests.Stats;

/// <summary>GET /stats, peak concurrency and reset.</summary>
public sealed class StatsTests
{
    [Fact]
    public async Task Peak_concurrency_counts_simultaneous_requests_and_reset_clears_it()
    {
        await using var sim = await SimulatorServer.StartAsync(new() { Latency = { TimeToFirstTokenMs = 300 } });
        using var http = sim.CreateClient();

        var calls = Enumerable.Range(0, 8).Select(async i =>
        {
            using var response = await http.SendAsync("v1/chat/completions", ChatBody($"concurrent {i}"));
            return response.StatusCode;
        });
        var codes = await Task.WhenAll(calls);
        Assert.All(codes, code => Assert.Equal(HttpStatusCode.OK, code));

        var stats = await http.GetStatsAsync();
        Assert.Equal(8, stats.GetProperty("peak_concurrent_requests").GetInt32());
        Assert.Equal(0, stats.GetProperty("concurrent_requests").GetInt32());
        Assert.Equal(8, stats.GetProperty("total_requests").GetInt64());
        Assert.Equal(8, stats.GetProperty("outcomes").GetProperty("ok").GetInt64());
        Assert.Equal(8, sim.Stats.PeakConcurrentRequests);

        using var reset = await http.PostAsync("stats/reset", content: null);
        Assert.Equal(HttpStatusCode.NoContent, reset.StatusCode);

        var after = await http.GetStatsAsync();
        Assert.Equal(0, after.GetProperty("peak_concurrent_requests").GetInt32());
        Assert.Equal(0, after.GetProperty("total_requests").GetInt64());
        Assert.Equal(0, after.GetProperty("outcomes").GetProperty("ok").GetInt64());
    }

    [Fact]
    public async Task Stats_json_lists_every_outcome_and_DELETE_resets()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        (await http.SendAsync("v1/chat/completions", ChatBody("a"))).Dispose();
        (await http.SendAsync("v1/chat/completions", ChatBody("b"), ("X-Sim-Fault", "server_error"))).Dispose();
        (await http.SendAsync("v1/chat/completions", "{}")).Dispose();

        var stats = await http.GetStatsAsync();
        SimulatorHttp.AssertProperties(stats, "total_requests", "outcomes", "concurrent_requests", "peak_concurrent_requests", "client_disconnects", "rate_limits", "capacity");
        SimulatorHttp.AssertProperties(stats.GetProperty("rate_limits"), "requests_limited", "tokens_limited", "tokens_charged");
        SimulatorHttp.AssertProperties(stats.GetProperty("capacity"), "active_generations", "peak_active_generations", "queued_generations", "rejected");
        Assert.Equal(0, stats.GetProperty("capacity").GetProperty("active_generations").GetInt32());
        Assert.Equal(1, stats.GetProperty("capacity").GetProperty("peak_active_generations").GetInt32());
        SimulatorHttp.AssertProperties(
            stats.GetProperty("outcomes"),
            "ok", "rate_limit", "server_error", "unavailable", "hang", "drop", "malformed", "error_event", "bad_request", "unauthorized");
        Assert.Equal(3, stats.GetProperty("total_requests").GetInt64());
        Assert.Equal(1, stats.GetProperty("outcomes").GetProperty("ok").GetInt64());
        Assert.Equal(1, stats.GetProperty("outcomes").GetProperty("server_error").GetInt64());
        Assert.Equal(1, stats.GetProperty("outcomes").GetProperty("bad_request").GetInt64());
        Assert.Equal(sim.Stats.Snapshot().TotalRequests, stats.GetProperty("total_requests").GetInt64());

        using var delete = await http.DeleteAsync("stats");
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Equal(0, sim.Stats.TotalRequests);
        Assert.Equal(0, sim.Stats.Count(SimulatorOutcome.ServerError));
    }

    [Fact]
    public async Task Non_generation_endpoints_are_not_counted()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        (await http.GetAsync("health")).Dispose();
        (await http.GetAsync("v1/models")).Dispose();
        (await http.GetAsync("stats")).Dispose();

        Assert.Equal(0, sim.Stats.TotalRequests);
    }
}
