using System.Diagnostics;
using System.Net;
using Worker.Simulator.Options;
using Worker.Simulator.Tests.Infrastructure;
using static Worker.Simulator.Tests.Infrastructure.SimulatorHttp;

namespace Worker.Simulator.Tests.Limits;

/// <summary>
/// Simulator:Capacity over real HTTP. Slots are held by hang faults where the test needs them busy for as long as it
/// likes; only lower bounds of time are asserted (a loaded machine only makes things slower).
/// </summary>
public sealed class CapacityEndpointTests
{
    [Fact]
    public async Task Queue_mode_runs_at_most_K_at_once_and_the_rest_wait_then_succeed()
    {
        const int K = 2;
        const int Latency = 500;
        await using var sim = await SimulatorServer.StartAsync(new()
        {
            Latency = { TimeToFirstTokenMs = Latency },
            Capacity = { MaxConcurrent = K },
        });
        using var http = sim.CreateClient();

        var clock = Stopwatch.StartNew();
        var calls = Enumerable.Range(0, K + 3).Select(async i =>
        {
            using var response = await http.SendAsync("v1/chat/completions", ChatBody($"queued {i}", stream: i % 2 == 0));
            await response.Content.ReadAsStringAsync();
            return (response.StatusCode, Done: clock.Elapsed, RateLimitHeaders: response.Headers.Any(h => h.Key.StartsWith("x-ratelimit-", StringComparison.Ordinal)));
        });
        var results = await Task.WhenAll(calls);

        Assert.All(results, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.All(results, r => Assert.False(r.RateLimitHeaders));

        // Five generations through two slots take three rounds: the last cannot end before 3 × latency.
        Assert.True(results.Max(r => r.Done) >= TimeSpan.FromMilliseconds(3 * Latency * 0.95), $"last done at {results.Max(r => r.Done)}");

        var stats = await http.GetStatsAsync();
        var capacity = stats.GetProperty("capacity");
        Assert.Equal(K, capacity.GetProperty("peak_active_generations").GetInt32());
        Assert.Equal(0, capacity.GetProperty("active_generations").GetInt32());
        Assert.Equal(0, capacity.GetProperty("queued_generations").GetInt32());
        Assert.Equal(0, capacity.GetProperty("rejected").GetInt64());
        Assert.Equal(K + 3, stats.GetProperty("outcomes").GetProperty("ok").GetInt64());
    }

    [Fact]
    public async Task A_queued_request_waits_for_a_busy_slot_and_a_client_that_gives_up_leaves_the_queue()
    {
        await using var sim = await SimulatorServer.StartAsync(new() { Capacity = { MaxConcurrent = 1 } });
        using var http = sim.CreateClient();
        using var stopHolder = new CancellationTokenSource();
        using var stopQuitter = new CancellationTokenSource();

        var holder = SendAsync(http, ("X-Sim-Fault", "hang"), stopHolder.Token);
        await EventuallyAsync(() => Task.FromResult(sim.Stats.ActiveGenerations == 1), "the hang holds the slot");

        var waiter = SendAsync(http, null, CancellationToken.None);
        await EventuallyAsync(() => Task.FromResult(sim.Stats.QueuedGenerations == 1), "the second request queues");
        var quitter = SendAsync(http, null, stopQuitter.Token);
        await EventuallyAsync(() => Task.FromResult(sim.Stats.QueuedGenerations == 2), "the third request queues");
        Assert.False(waiter.IsCompleted);

        await stopQuitter.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => quitter);
        await EventuallyAsync(() => Task.FromResult(sim.Stats.QueuedGenerations == 1), "the quitter leaves the queue");
        Assert.False(waiter.IsCompleted);

        await stopHolder.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => holder);

        Assert.Equal(HttpStatusCode.OK, await waiter);
        await EventuallyAsync(() => Task.FromResult(sim.Stats.ActiveGenerations == 0), "every slot is free");
        Assert.Equal(1, sim.Stats.PeakActiveGenerations);
        Assert.Equal(0, sim.Stats.QueuedGenerations);
    }

    [Fact]
    public async Task Reject_mode_answers_503_overloaded_beyond_K()
    {
        const int K = 2;
        await using var sim = await SimulatorServer.StartAsync(new() { Capacity = { MaxConcurrent = K, Overflow = CapacityOverflow.Reject } });
        using var http = sim.CreateClient();
        using var stopHolders = new CancellationTokenSource();

        var holders = Enumerable.Range(0, K).Select(_ => SendAsync(http, ("X-Sim-Fault", "hang"), stopHolders.Token)).ToArray();
        await EventuallyAsync(() => Task.FromResult(sim.Stats.ActiveGenerations == K), "the hangs hold every slot");

        for (var i = 0; i < 3; i++)
        {
            using var response = await http.SendAsync("v1/chat/completions", ChatBody($"over {i}"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            var error = (await response.ReadJsonAsync()).GetProperty("error");
            AssertProperties(error, "message", "type", "param", "code");
            Assert.Equal("server_error", error.GetProperty("type").GetString());
            Assert.Contains("overloaded", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        var stats = await http.GetStatsAsync();
        Assert.Equal(3, stats.GetProperty("capacity").GetProperty("rejected").GetInt64());
        Assert.Equal(3, stats.GetProperty("outcomes").GetProperty("unavailable").GetInt64());

        await stopHolders.CancelAsync();
        foreach (var holder in holders)
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => holder);
        }

        await EventuallyAsync(() => Task.FromResult(sim.Stats.ActiveGenerations == 0), "the hangs free their slots");
        Assert.Equal(HttpStatusCode.OK, await SendAsync(http, null, CancellationToken.None));
    }

    private static async Task<HttpStatusCode> SendAsync(HttpClient http, (string, string)? header, CancellationToken cancellationToken)
    {
        using var request = Post("v1/chat/completions", ChatBody("slot"));
        if (header is var (name, value))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        return response.StatusCode;
    }
}
