using System.Net;
using System.Text.Json;
using Worker.Simulator.Generation;
using Worker.Simulator.Stats;
using Worker.Simulator.Tests.Infrastructure;
using static Worker.Simulator.Tests.Infrastructure.SimulatorHttp;

namespace Worker.Simulator.Tests.Faults;

/// <summary>Each X-Sim-Fault mode produces exactly what it says.</summary>
public sealed class FaultInjectionTests
{
    [Fact]
    public async Task Rate_limit_is_429_with_Retry_After_and_rate_limit_error()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/chat/completions", ChatBody("hi"), ("X-Sim-Fault", "rate_limit;retry_after=2"));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), response.Headers.RetryAfter?.Delta);
        var error = (await response.ReadJsonAsync()).GetProperty("error");
        AssertProperties(error, "message", "type", "param", "code");
        Assert.Equal("requests", error.GetProperty("type").GetString());
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        Assert.Equal(1, sim.Stats.Count(SimulatorOutcome.RateLimit));
    }

    [Fact]
    public async Task Rate_limit_uses_the_configured_Retry_After_by_default()
    {
        await using var sim = await SimulatorServer.StartAsync(new() { Faults = { RetryAfterSeconds = 7 } });
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/chat/completions", ChatBody("hi"), ("X-Sim-Fault", "rate_limit"));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), response.Headers.RetryAfter?.Delta);
    }

    [Theory]
    [InlineData("server_error", HttpStatusCode.InternalServerError)]
    [InlineData("unavailable", HttpStatusCode.ServiceUnavailable)]
    public async Task Server_faults_are_OpenAI_server_errors(string mode, HttpStatusCode status)
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        foreach (var stream in new[] { false, true })
        {
            using var response = await http.SendAsync("v1/chat/completions", ChatBody("hi", stream), ("X-Sim-Fault", mode));

            Assert.Equal(status, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            var error = (await response.ReadJsonAsync()).GetProperty("error");
            AssertProperties(error, "message", "type", "param", "code");
            Assert.Equal("server_error", error.GetProperty("type").GetString());
        }
    }

    [Fact]
    public async Task Hang_never_answers_until_the_client_gives_up_and_shows_in_stats()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();
        using var statsClient = sim.CreateClient();
        using var giveUp = new CancellationTokenSource();

        using var request = Post("v1/chat/completions", ChatBody("hi", stream: true), ("X-Sim-Fault", "hang"));
        var call = http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, giveUp.Token);

        // While it hangs the server counts it as in flight.
        await EventuallyAsync(
            async () =>
            {
                var stats = await statsClient.GetStatsAsync();
                return stats.GetProperty("concurrent_requests").GetInt32() == 1
                    && stats.GetProperty("outcomes").GetProperty("hang").GetInt64() == 1;
            },
            "the hanging request shows in /stats");
        Assert.False(call.IsCompleted);

        giveUp.CancelAfter(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

        await EventuallyAsync(
            () => Task.FromResult(sim.Stats.ConcurrentRequests == 0 && sim.Stats.ClientDisconnects == 1),
            "the server notices the client went away");
    }

    [Fact]
    public async Task Hang_is_cut_by_an_HttpClient_timeout()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient(timeout: TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => http.SendAsync("v1/chat/completions", ChatBody("hi"), ("X-Sim-Fault", "hang")));
        Assert.Equal(1, sim.Stats.Count(SimulatorOutcome.Hang));
    }

    [Fact]
    public async Task Drop_mid_stream_gives_the_client_an_IOException_after_some_chunks()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync(
            "v1/chat/completions",
            ChatBody("hi", stream: true),
            ("X-Sim-Fault", "drop;after=3"),
            ("X-Sim-Tokens", "10"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var received = new List<string>();
        await using var body = await response.Content.ReadAsStreamAsync();
        var failure = await Assert.ThrowsAnyAsync<IOException>(async () =>
        {
            await foreach (var item in System.Net.ServerSentEvents.SseParser.Create(body).EnumerateAsync())
            {
                received.Add(item.Data);
            }
        });

        Assert.NotNull(failure);
        Assert.DoesNotContain("[DONE]", received);
        Assert.Equal(4, received.Count); // role chunk + 3 content chunks
        Assert.Equal(AnswerGenerator.Generate(Model, "hi", 0, 3), AccumulateContent(received));
        Assert.Equal(1, sim.Stats.Count(SimulatorOutcome.Drop));
    }

    [Fact]
    public async Task Drop_on_a_non_streaming_request_aborts_before_answering()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        await Assert.ThrowsAsync<HttpRequestException>(() => http.SendAsync("v1/chat/completions", ChatBody("hi"), ("X-Sim-Fault", "drop")));
    }

    [Fact]
    public async Task Malformed_puts_one_non_JSON_data_line_in_an_otherwise_normal_stream()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync(
            "v1/chat/completions",
            ChatBody("hi", stream: true),
            ("X-Sim-Fault", "malformed;after=2"),
            ("X-Sim-Tokens", "5"));
        var events = await response.ReadEventsAsync();

        var invalid = events.Where(e => e != "[DONE]" && !IsJson(e)).ToList();
        Assert.Single(invalid);
        Assert.Equal(3, events.IndexOf(invalid[0])); // after the role chunk and 2 content chunks
        Assert.Equal("[DONE]", events[^1]);
        Assert.Equal(AnswerGenerator.Generate(Model, "hi", 0, 5), AccumulateContent(events.Where(IsJson)));
    }

    [Fact]
    public async Task Malformed_non_streaming_answer_is_a_200_with_invalid_JSON()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/chat/completions", ChatBody("hi"), ("X-Sim-Fault", "malformed"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(IsJson(await response.Content.ReadAsStringAsync()));
    }

    [Fact]
    public async Task Error_event_sends_an_error_object_and_ends_without_DONE()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync(
            "v1/chat/completions",
            ChatBody("hi", stream: true),
            ("X-Sim-Fault", "error_event;after=2"),
            ("X-Sim-Tokens", "6"));
        var events = await response.ReadEventsAsync();

        Assert.Equal(4, events.Count); // role, 2 content, error
        Assert.DoesNotContain("[DONE]", events);
        var error = JsonDocument.Parse(events[^1]).RootElement;
        AssertProperties(error, "error");
        AssertProperties(error.GetProperty("error"), "message", "type", "param", "code");
        Assert.Equal("server_error", error.GetProperty("error").GetProperty("type").GetString());
        Assert.Equal(1, sim.Stats.Count(SimulatorOutcome.ErrorEvent));
    }

    [Fact]
    public async Task Fault_none_overrides_a_configured_rate_of_one()
    {
        await using var sim = await SimulatorServer.StartAsync(new() { Faults = { Rate = 1, Modes = ["server_error"] } });
        using var http = sim.CreateClient();

        using var faulted = await http.SendAsync("v1/chat/completions", ChatBody("hi"));
        using var clean = await http.SendAsync("v1/chat/completions", ChatBody("hi"), ("X-Sim-Fault", "none"));

        Assert.Equal(HttpStatusCode.InternalServerError, faulted.StatusCode);
        Assert.Equal(HttpStatusCode.OK, clean.StatusCode);
    }

    [Theory]
    [InlineData("explode")]
    [InlineData("rate_limit;retry_after=soon")]
    [InlineData("drop;bogus=1")]
    public async Task Invalid_fault_header_is_a_400_naming_the_header(string header)
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/chat/completions", ChatBody("hi"), ("X-Sim-Fault", header));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("X-Sim-Fault", (await response.ReadJsonAsync()).GetProperty("error").GetProperty("param").GetString());
    }

    private static bool IsJson(string text)
    {
        try
        {
            using var _ = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
