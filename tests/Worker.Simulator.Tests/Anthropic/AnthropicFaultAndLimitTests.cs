using System.Globalization;
using System.Net;
using System.Net.ServerSentEvents;
using Worker.Simulator.Options;
using Worker.Simulator.Tests.Infrastructure;
using static Worker.Simulator.Tests.Anthropic.AnthropicMessagesTests;

namespace Worker.Simulator.Tests.Anthropic;

/// <summary>Fault injection, rate limits and capacity on the Anthropic route, in Anthropic's shapes.</summary>
public sealed class AnthropicFaultAndLimitTests
{
    [Theory]
    [InlineData("rate_limit;retry_after=7", 429, "rate_limit_error")]
    [InlineData("unavailable", 529, "overloaded_error")]
    [InlineData("server_error", 500, "api_error")]
    public async Task Faults_are_answered_in_Anthropic_s_error_shape(string fault, int status, string type)
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/messages", Body(), VersionHeader, ("X-Sim-Fault", fault));

        await AssertErrorAsync(response, (HttpStatusCode)status, type);
        if (status == 429)
        {
            Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter?.Delta);
        }
    }

    [Fact]
    public async Task Error_event_is_an_overloaded_error_event_ending_the_stream()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/messages", Body(stream: true), VersionHeader, ("X-Sim-Fault", "error_event;after=1"), ("X-Sim-Tokens", "4"));
        var events = await ReadNamedEventsAsync(response);

        Assert.Equal(["message_start", "content_block_start", "ping", "content_block_delta", "error"], events.Select(e => e.Name));
        Assert.Equal("""{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}""", events[^1].Raw);
    }

    [Fact]
    public async Task Malformed_is_a_delta_event_with_cut_off_json()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/messages", Body(stream: true), VersionHeader, ("X-Sim-Fault", "malformed;after=1"), ("X-Sim-Tokens", "2"));
        await using var stream = await response.Content.ReadAsStreamAsync();
        var items = new List<SseItem<string>>();
        await foreach (var item in SseParser.Create(stream).EnumerateAsync())
        {
            items.Add(item);
        }

        Assert.Equal("content_block_delta", items[4].EventType);
        Assert.EndsWith("\"trunc", items[4].Data, StringComparison.Ordinal);
        Assert.Equal("message_stop", items[^1].EventType);
    }

    [Fact]
    public async Task Drop_cuts_the_stream_with_an_IO_error()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/messages", Body(stream: true), VersionHeader, ("X-Sim-Fault", "drop;after=1"), ("X-Sim-Tokens", "4"));
        await using var stream = await response.Content.ReadAsStreamAsync();

        await Assert.ThrowsAnyAsync<IOException>(async () =>
        {
            await foreach (var unused in SseParser.Create(stream).EnumerateAsync())
            {
            }
        });
        Assert.Equal(1, (await http.GetStatsAsync()).GetProperty("outcomes").GetProperty("drop").GetInt32());
    }

    [Fact]
    public async Task Rate_limits_send_anthropic_headers_and_429_rate_limit_error_with_retry_after()
    {
        await using var sim = await SimulatorServer.StartAsync(new SimulatorOptions
        {
            RateLimits = { RequestsPerMinute = 60, TokensPerMinute = 60000, BurstSeconds = 2 },
        });
        using var http = sim.CreateClient();
        var before = DateTimeOffset.UtcNow;

        using var first = await http.SendAsync("v1/messages", Body(maxTokens: 100), VersionHeader, ("x-api-key", "k1"));
        using var second = await http.SendAsync("v1/messages", Body(maxTokens: 100), VersionHeader, ("x-api-key", "k1"));
        using var third = await http.SendAsync("v1/messages", Body(maxTokens: 100), VersionHeader, ("x-api-key", "k1"));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("60", Header(first, "anthropic-ratelimit-requests-limit"));
        Assert.Equal("1", Header(first, "anthropic-ratelimit-requests-remaining"));
        Assert.Equal("60000", Header(first, "anthropic-ratelimit-tokens-limit"));
        Assert.Equal("1893", Header(first, "anthropic-ratelimit-tokens-remaining")); // bucket 2000 − (ceil(27 chars / 4) = 7 + max_tokens 100)
        var reset = DateTimeOffset.Parse(Header(first, "anthropic-ratelimit-requests-reset"), CultureInfo.InvariantCulture);
        Assert.InRange(reset, before.AddSeconds(-1), before.AddSeconds(10));
        Assert.EndsWith("Z", Header(first, "anthropic-ratelimit-tokens-reset"), StringComparison.Ordinal);
        Assert.False(first.Headers.Contains("x-ratelimit-limit-requests"));

        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        await AssertErrorAsync(third, HttpStatusCode.TooManyRequests, "rate_limit_error");
        Assert.Equal("0", Header(third, "anthropic-ratelimit-requests-remaining"));
        Assert.NotNull(third.Headers.RetryAfter?.Delta);
        Assert.False(third.Headers.Contains("retry-after-ms"));
        var stats = (await http.GetStatsAsync()).GetProperty("rate_limits");
        Assert.Equal(1, stats.GetProperty("requests_limited").GetInt32());
    }

    [Fact]
    public async Task Capacity_reject_is_529_overloaded_error()
    {
        await using var sim = await SimulatorServer.StartAsync(new SimulatorOptions
        {
            Capacity = { MaxConcurrent = 1, Overflow = CapacityOverflow.Reject },
        });
        using var http = sim.CreateClient();
        using var hanging = new CancellationTokenSource();
        var hang = http.SendAsync(SimulatorHttp.Post("v1/messages", Body(), VersionHeader, ("X-Sim-Fault", "hang")), hanging.Token);
        await SimulatorHttp.EventuallyAsync(async () => (await http.GetStatsAsync()).GetProperty("capacity").GetProperty("active_generations").GetInt32() == 1, "the hang holds the slot");

        using var response = await http.SendAsync("v1/messages", Body(), VersionHeader);

        await AssertErrorAsync(response, (HttpStatusCode)529, "overloaded_error", "Overloaded");
        await hanging.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => hang);
    }

    private static string Header(HttpResponseMessage response, string name) => string.Join(",", response.Headers.GetValues(name));
}
