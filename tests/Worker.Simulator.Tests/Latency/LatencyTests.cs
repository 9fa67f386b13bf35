using System.Diagnostics;
using Worker.Simulator.Tests.Infrastructure;
using static Worker.Simulator.Tests.Infrastructure.SimulatorHttp;

namespace Worker.Simulator.Tests.Latency;

/// <summary>The latency model, with lower bounds only (plus a very generous upper bound).</summary>
public sealed class LatencyTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Header_latency_paces_the_stream_chunk_by_chunk()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        var clock = Stopwatch.StartNew();
        using var response = await http.SendAsync(
            "v1/chat/completions",
            ChatBody("paced", stream: true),
            ("X-Sim-Latency", "ttft=300ms,token=50ms"),
            ("X-Sim-Tokens", "10"));
        var events = await response.ReadTimedEventsAsync(clock);
        var total = clock.Elapsed;

        Assert.Equal(1 + 10 + 1 + 1, events.Count);
        var firstContent = events[1].At;
        var lastContent = events[10].At;
        Assert.InRange(firstContent, TimeSpan.FromMilliseconds(250), Generous);
        Assert.InRange(total, TimeSpan.FromMilliseconds(700), Generous);
        Assert.True(lastContent - firstContent >= TimeSpan.FromMilliseconds(300), $"chunks were not spread out: {lastContent - firstContent}");
    }

    [Fact]
    public async Task Configured_latency_applies_and_accepts_seconds_in_the_header()
    {
        var options = new Simulator.Options.SimulatorOptions { Latency = { TimeToFirstTokenMs = 200, TimePerTokenMs = 20 } };
        await using var sim = await SimulatorServer.StartAsync(options);
        using var http = sim.CreateClient();

        var clock = Stopwatch.StartNew();
        using (var configured = await http.SendAsync("v1/chat/completions", ChatBody("slow"), ("X-Sim-Tokens", "10")))
        {
            await configured.Content.ReadAsStringAsync();
        }

        // ttft 200 ms + 10 tokens * 20 ms.
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(350), Generous);

        clock.Restart();
        using (var overridden = await http.SendAsync("v1/chat/completions", ChatBody("slow"), ("X-Sim-Latency", "ttft=0.4s"), ("X-Sim-Tokens", "1")))
        {
            await overridden.Content.ReadAsStringAsync();
        }

        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(380), Generous);
    }

    [Fact]
    public async Task Header_can_switch_configured_latency_off()
    {
        var options = new Simulator.Options.SimulatorOptions { Latency = { TimeToFirstTokenMs = 60_000 } };
        await using var sim = await SimulatorServer.StartAsync(options);
        using var http = sim.CreateClient(timeout: Generous);

        using var response = await http.SendAsync("v1/chat/completions", ChatBody("fast"), ("X-Sim-Latency", "ttft=0,token=0ms"));

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("ttft=fast")]
    [InlineData("ttft")]
    [InlineData("delay=20ms")]
    [InlineData("token=-5ms")]
    public async Task Invalid_latency_header_is_a_400_naming_the_header(string header)
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/chat/completions", ChatBody("x"), ("X-Sim-Latency", header));

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("X-Sim-Latency", (await response.ReadJsonAsync()).GetProperty("error").GetProperty("param").GetString());
    }
}
