using Worker.Simulator.Options;
using Worker.Simulator.Stats;
using Worker.Simulator.Tests.Infrastructure;
using static Worker.Simulator.Tests.Infrastructure.SimulatorHttp;

namespace Worker.Simulator.Tests.Faults;

/// <summary>Random faults are a pure function of the seed and the request order.</summary>
public sealed class SeededFaultRateTests
{
    private const int Requests = 60;

    [Fact]
    public async Task Same_seed_gives_the_same_outcome_sequence_on_two_fresh_servers_and_about_half_faults()
    {
        var first = await RunAsync(seed: 1234);
        var second = await RunAsync(seed: 1234);

        Assert.Equal(first.Outcomes, second.Outcomes);
        Assert.Equal(first.Stats, second.Stats);

        var faults = first.Outcomes.Count(code => code != 200);
        Assert.InRange(faults, Requests * 0.3, Requests * 0.7);
        Assert.Equal(Requests - faults, first.Stats.Ok);
        Assert.Equal(faults, first.Stats.RateLimit + first.Stats.ServerError + first.Stats.Unavailable);

        // Every configured mode shows up; nothing else does.
        Assert.Contains(429, first.Outcomes);
        Assert.Contains(500, first.Outcomes);
        Assert.Contains(503, first.Outcomes);
        Assert.All(first.Outcomes, code => Assert.Contains(code, new[] { 200, 429, 500, 503 }));
    }

    [Fact]
    public async Task A_different_seed_gives_a_different_sequence()
    {
        var first = await RunAsync(seed: 1);
        var second = await RunAsync(seed: 2);

        Assert.NotEqual(first.Outcomes, second.Outcomes);
    }

    private static async Task<(List<int> Outcomes, SimulatorOutcomeCounts Stats)> RunAsync(int seed)
    {
        var options = new SimulatorOptions
        {
            Faults = new FaultOptions { Rate = 0.5, Seed = seed, Modes = ["rate_limit", "server_error", "unavailable"] },
        };
        await using var sim = await SimulatorServer.StartAsync(options);
        using var http = sim.CreateClient();

        var outcomes = new List<int>();
        for (var i = 0; i < Requests; i++)
        {
            using var response = await http.SendAsync("v1/chat/completions", ChatBody($"request {i}"));
            outcomes.Add((int)response.StatusCode);
        }

        return (outcomes, sim.Stats.Snapshot().Outcomes);
    }
}
