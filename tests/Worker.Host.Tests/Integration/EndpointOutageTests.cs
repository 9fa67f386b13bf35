using System.Net;
using System.Net.Sockets;
using Worker.Host.Consuming;
using Worker.Host.Contracts;
using Worker.Host.Intake;
using Worker.Simulator;
using Worker.Simulator.Generation;
using Worker.Simulator.Options;
using Worker.Testing;

namespace Worker.Host.Tests.Integration;

/// <summary>
/// Per-endpoint breakers and fallbacks through a real broker, our runtime and real simulators: one provider's outage
/// holds only its own jobs, an open breaker sends jobs straight to their fallback, and so does admission that cannot
/// take a job in time.
/// </summary>
[Collection(RabbitMqBrokerCollection.Name)]
public sealed class EndpointOutageTests(RabbitMqBrokerFixture broker)
{
    private static void Endpoint(Dictionary<string, string?> s, string name, string provider, string url, params string[] models)
    {
        s[$"Llm:Endpoints:{name}:Provider"] = provider;
        s[$"Llm:Endpoints:{name}:BaseUrl"] = url;
        s[$"Llm:Endpoints:{name}:ApiKeyVariable"] = "WORKER_TEST_UNSET_KEY";
        for (var i = 0; i < models.Length; i++)
        {
            s[$"Llm:Endpoints:{name}:Models:{i}"] = models[i];
        }
    }

    private static void QuickBreaker(Dictionary<string, string?> s, string breakDuration)
    {
        s["Resilience:MaxRetryAttempts"] = "1";
        s["Resilience:BreakerMinimumThroughput"] = "2";
        s["Resilience:BreakerFailureRatio"] = "0.5";
        s["Resilience:BreakerBreakDuration"] = breakDuration;
    }

    private static string Job(string id, string model, bool stream, string? endpoint = null) =>
        $$"""{"id":"{{id}}","model":"{{model}}","prompt":"Tell me about {{id}}","stream":{{(stream ? "true" : "false")}}{{(endpoint is null ? "" : $",\"endpoint\":\"{endpoint}\"")}}}""";

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [Fact]
    public async Task One_provider_outage_holds_only_its_own_jobs_and_they_are_answered_when_it_is_back()
    {
        // The Anthropic endpoint's host is down (nothing listens on its port) until the test starts it.
        var port = FreePort();
        await using var harness = await WorkerHarness.StartAsync(broker, new SimulatorOptions { Models = ["gpt-4o-mini", "gemini-2.0-flash"] }, s =>
        {
            var root = s["Llm:BaseUrl"]!.TrimEnd('/')[..^"/v1".Length];
            Endpoint(s, "claude", "anthropic", $"http://127.0.0.1:{port}/v1", "claude-sonnet-4-5", "claude-haiku-4-5");
            Endpoint(s, "gemini", "gemini", root + "/v1beta", "gemini-2.0-flash");
            s["Llm:Fallbacks:claude-haiku-4-5:0"] = "gemini/gemini-2.0-flash";
            QuickBreaker(s, "00:00:02");
        });
        var held = new[] { Job("held-0", "claude-sonnet-4-5", true), Job("held-1", "claude-sonnet-4-5", false), Job("pinned", "claude-haiku-4-5", false, endpoint: "claude") };
        var others = new[]
        {
            Job("fb-0", "claude-haiku-4-5", true), Job("fb-1", "claude-haiku-4-5", false),
            Job("g-0", "gemini-2.0-flash", true), Job("g-1", "gemini-2.0-flash", false),
            Job("d-0", "gpt-4o-mini", true), Job("d-1", "gpt-4o-mini", false),
        };
        await harness.PublishAsync(held.Concat(others));

        // Everything not bound to the down provider is answered while it is down.
        var during = (await harness.ResultsAsync(others.Length)).ToDictionary(r => r.Id);
        var intake = harness.Service<IntakeController>();
        Assert.True(intake.IsEndpointDown("claude"), "claude's breaker should be open");
        Assert.Equal(0, intake.OutageCount);
        Assert.False(harness.Service<RabbitMqJobSource>().Paused);
        foreach (var (id, result) in during)
        {
            Assert.True(JobStatus.Succeeded == result.Status, $"{id}: {result.Json}");
        }

        foreach (var id in new[] { "fb-0", "fb-1" })
        {
            Assert.Equal(["claude", "gemini"], during[id].Json.GetProperty("chain").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(("gemini", "gemini"), (during[id].Json.GetProperty("endpoint").GetString(), during[id].Json.GetProperty("provider").GetString()));
            Assert.Equal(AnswerGenerator.Generate("gemini-2.0-flash", $"Tell me about {id}"), during[id].Content);
        }

        Assert.Equal("gemini", during["g-0"].Json.GetProperty("endpoint").GetString());
        Assert.Equal("default", during["d-0"].Json.GetProperty("endpoint").GetString());

        // The provider comes back: its held jobs (pinned one included) are answered by it, none failed.
        await using var recovered = await SimulatorServer.StartAsync(new SimulatorOptions { Models = ["claude-sonnet-4-5", "claude-haiku-4-5"] }, $"http://127.0.0.1:{port}");
        var after = await harness.ResultsAsync(held.Length, TimeSpan.FromSeconds(90));
        Assert.Equal(["held-0", "held-1", "pinned"], after.Select(r => r.Id).Order(StringComparer.Ordinal));
        foreach (var result in after)
        {
            Assert.True(JobStatus.Succeeded == result.Status, result.Json.ToString());
            Assert.Equal(("claude", "anthropic"), (result.Json.GetProperty("endpoint").GetString(), result.Json.GetProperty("provider").GetString()));
            Assert.False(result.Json.TryGetProperty("chain", out _), result.Id);
            var model = result.Id == "pinned" ? "claude-haiku-4-5" : "claude-sonnet-4-5";
            Assert.Equal(AnswerGenerator.Generate(model, $"Tell me about {result.Id}"), result.Content);
        }

        Assert.Equal(0, intake.OutageCount);
        Assert.True(await Eventually.TrueAsync(() => !intake.IsEndpointDown("claude"), TimeSpan.FromSeconds(10)), "claude should be up once a call succeeded");
        Assert.Empty(await harness.ResultsWithinAsync(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task An_open_breaker_sends_jobs_straight_to_the_fallback_and_the_result_records_the_chain()
    {
        await using var down = await SimulatorServer.StartAsync(new SimulatorOptions { Models = ["gpt-4o"], Faults = { Rate = 1, Modes = ["unavailable"] } });
        await using var harness = await WorkerHarness.StartAsync(broker, new SimulatorOptions { Models = ["gpt-4o-mini", "gpt-4o"] }, s =>
        {
            Endpoint(s, "primary", "openai", new Uri(down.BaseAddress, "v1").ToString(), "gpt-4o");
            Endpoint(s, "secondary", "openai", s["Llm:BaseUrl"]!, "gpt-4o-mini");
            s["Llm:Fallbacks:gpt-4o:0"] = "secondary/gpt-4o";
            QuickBreaker(s, "00:01:00");
        });

        // A job pinned to the primary (so it cannot fall back) opens the primary's breaker.
        await harness.PublishAsync([Job("opener", "gpt-4o", false, endpoint: "primary")]);
        var intake = harness.Service<IntakeController>();
        Assert.True(await Eventually.TrueAsync(() => intake.IsEndpointDown("primary"), TimeSpan.FromSeconds(30)), "the primary's breaker should open");
        var primaryCalls = down.Stats.TotalRequests;

        await harness.PublishAsync([Job("open-stream", "gpt-4o", true), Job("open-json", "gpt-4o", false)]);
        var results = await harness.ResultsAsync(2);

        foreach (var result in results)
        {
            Assert.True(JobStatus.Succeeded == result.Status, result.Json.ToString());
            Assert.Equal(AnswerGenerator.Generate("gpt-4o", $"Tell me about {result.Id}"), result.Content);
            Assert.Equal(["primary", "secondary"], result.Json.GetProperty("chain").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal("secondary", result.Json.GetProperty("endpoint").GetString());
            Assert.Equal(1, result.Attempts);
        }

        // The open circuit answered for the primary: no call reached it, and intake was never paused.
        Assert.Equal(primaryCalls, down.Stats.TotalRequests);
        Assert.Equal(0, intake.OutageCount);
        Assert.DoesNotContain(results, r => r.Id == "opener");
    }

    [Fact]
    public async Task A_primary_that_cannot_admit_the_job_in_time_hands_it_to_the_fallback()
    {
        // One request a minute per endpoint and model, waiting at most 1 s: the primary admits one job; the other
        // would wait about a minute, so it goes to the secondary (its own endpoint, its own limits) at once.
        await using var secondary = await SimulatorServer.StartAsync(new SimulatorOptions { Models = ["gpt-4o"] });
        await using var harness = await WorkerHarness.StartAsync(broker, new SimulatorOptions { Models = ["gpt-4o-mini", "gpt-4o"] }, s =>
        {
            Endpoint(s, "primary", "openai", s["Llm:BaseUrl"]!, "gpt-4o");
            Endpoint(s, "secondary", "openai", new Uri(secondary.BaseAddress, "v1").ToString(), "gpt-4o-mini");
            s["Llm:Fallbacks:gpt-4o:0"] = "secondary/gpt-4o";
            s["Llm:Limits:RequestsPerMinute"] = "1";
            s["Llm:Limits:MaxWait"] = "00:00:01";
        });
        await harness.PublishAsync([Job("adm-0", "gpt-4o", false), Job("adm-1", "gpt-4o", true)]);

        var results = await harness.ResultsAsync(2);

        Assert.All(results, r => Assert.True(JobStatus.Succeeded == r.Status, r.Json.ToString()));
        Assert.All(results, r => Assert.Equal(AnswerGenerator.Generate("gpt-4o", $"Tell me about {r.Id}"), r.Content));
        var direct = Assert.Single(results, r => !r.Json.TryGetProperty("chain", out _));
        Assert.Equal("primary", direct.Json.GetProperty("endpoint").GetString());
        var fellBack = Assert.Single(results, r => r.Json.TryGetProperty("chain", out _));
        Assert.Equal(["primary", "secondary"], fellBack.Json.GetProperty("chain").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("secondary", fellBack.Json.GetProperty("endpoint").GetString());
        Assert.Equal(1, secondary.Stats.TotalRequests);
    }
}
