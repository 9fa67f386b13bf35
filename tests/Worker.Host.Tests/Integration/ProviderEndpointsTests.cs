using Worker.Host.Contracts;
using Worker.Simulator;
using Worker.Simulator.Generation;
using Worker.Simulator.Options;
using Worker.Testing;

namespace Worker.Host.Tests.Integration;

/// <summary>Named endpoints through a real broker, our runtime and the simulator's OpenAI, Anthropic and Gemini routes.</summary>
[Collection(RabbitMqBrokerCollection.Name)]
public sealed class ProviderEndpointsTests(RabbitMqBrokerFixture broker)
{
    private static SimulatorOptions Models() => new() { Models = ["gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5", "gemini-2.0-flash"] };

    private static void Endpoint(Dictionary<string, string?> s, string name, string provider, string url, string model)
    {
        s[$"Llm:Endpoints:{name}:Provider"] = provider;
        s[$"Llm:Endpoints:{name}:BaseUrl"] = url;
        s[$"Llm:Endpoints:{name}:ApiKeyVariable"] = "WORKER_TEST_UNSET_KEY";
        s[$"Llm:Endpoints:{name}:Models:0"] = model;
    }

    [Fact]
    public async Task Each_provider_streamed_and_not_gives_the_exact_answer_and_its_provider()
    {
        await using var harness = await WorkerHarness.StartAsync(broker, Models(), s =>
        {
            var root = s["Llm:BaseUrl"]!.TrimEnd('/')[..^"/v1".Length];
            Endpoint(s, "claude", "anthropic", root + "/v1", "claude-sonnet-4-5");
            Endpoint(s, "gemini", "gemini", root + "/v1beta", "gemini-2.0-flash");
        });
        var cases = new (string Model, string Provider, string Endpoint)[]
        {
            ("gpt-4o-mini", "openai", "default"), ("claude-sonnet-4-5", "anthropic", "claude"), ("gemini-2.0-flash", "gemini", "gemini"),
        };
        var jobs = cases.SelectMany(c => new[] { true, false }.Select(stream => (c.Model, c.Provider, c.Endpoint, Stream: stream, Id: $"{c.Endpoint}-{stream}"))).ToList();
        await harness.PublishAsync(jobs.Select(j => $$"""{"id":"{{j.Id}}","model":"{{j.Model}}","prompt":"Tell me about {{j.Id}}","stream":{{(j.Stream ? "true" : "false")}}}"""));

        var results = (await harness.ResultsAsync(jobs.Count)).ToDictionary(r => r.Id);

        foreach (var job in jobs)
        {
            var result = results[job.Id];
            Assert.True(JobStatus.Succeeded == result.Status, $"{job.Id}: {result.Json}");
            Assert.Equal(AnswerGenerator.Generate(job.Model, $"Tell me about {job.Id}"), result.Content);
            Assert.Equal("stop", result.Json.GetProperty("finish_reason").GetString());
            Assert.True(result.Json.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() > 0, job.Id);
            Assert.True(result.Json.GetProperty("usage").GetProperty("completion_tokens").GetInt32() > 0, job.Id);
            var usage = result.Json.GetProperty("usage");
            Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());
            Assert.Equal(job.Provider, result.Json.GetProperty("provider").GetString());
            Assert.Equal(job.Endpoint, result.Json.GetProperty("endpoint").GetString());
            Assert.Equal(job.Model, result.Result!.Model);
            Assert.False(result.Json.TryGetProperty("chain", out _), job.Id);
        }
    }

    [Fact]
    public async Task Each_providers_errors_reach_the_result_in_our_classes()
    {
        // Overloaded (every call 503, Anthropic 529), refusing the missing key, and refusing the request (an unknown
        // model; for Anthropic, whose route takes any model name, a temperature over its maximum of 1), per provider.
        // The simulator's Gemini route refuses no request shape the worker can send; Gemini's INVALID_ARGUMENT is
        // classified in tests/Worker.Connector.Tests/Providers/GeminiParsingTests.cs.
        await using var failing = await SimulatorServer.StartAsync(new SimulatorOptions
        {
            Models = ["gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.0-flash"],
            Faults = { Rate = 1, Modes = ["unavailable"] },
        });
        await using var keyed = await SimulatorServer.StartAsync(new SimulatorOptions { ApiKey = "sk-expected", Models = ["gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.0-flash"] });
        await using var harness = await WorkerHarness.StartAsync(broker, Models(), s =>
        {
            var root = s["Llm:BaseUrl"]!.TrimEnd('/')[..^"/v1".Length];
            foreach (var (prefix, server) in new[] { ("down", failing.BaseAddress.ToString().TrimEnd('/')), ("key", keyed.BaseAddress.ToString().TrimEnd('/')), ("any", root) })
            {
                Endpoint(s, $"o-{prefix}", "openai", server + "/v1", "*");
                Endpoint(s, $"a-{prefix}", "anthropic", server + "/v1", "*");
                Endpoint(s, $"g-{prefix}", "gemini", server + "/v1beta", "*");
            }

            s["Resilience:MaxRetryAttempts"] = "1";
        });
        var cases = new (string Endpoint, string Model, string Provider, string Class, int Status, bool Retryable, string Extra)[]
        {
            ("o-down", "gpt-4o-mini", "openai", "Transient", 503, true, ""),
            ("a-down", "claude-sonnet-4-5", "anthropic", "Transient", 529, true, ""),
            ("g-down", "gemini-2.0-flash", "gemini", "Transient", 503, true, ""),
            ("o-key", "gpt-4o-mini", "openai", "Permanent", 401, false, ""),
            ("a-key", "claude-sonnet-4-5", "anthropic", "Permanent", 401, false, ""),
            ("g-key", "gemini-2.0-flash", "gemini", "Permanent", 403, false, ""),
            ("o-any", "no-such-model", "openai", "InvalidRequest", 404, false, ""),
            ("a-any", "claude-sonnet-4-5", "anthropic", "InvalidRequest", 400, false, ",\"params\":{\"temperature\":1.5}"),
        };
        await harness.PublishAsync(cases.Select(c => $$"""{"id":"{{c.Endpoint}}","endpoint":"{{c.Endpoint}}","model":"{{c.Model}}","prompt":"Fail","stream":{{(c.Endpoint[0] == 'g' ? "true" : "false")}}{{c.Extra}}}"""));

        var results = (await harness.ResultsAsync(cases.Length)).ToDictionary(r => r.Id);

        foreach (var c in cases)
        {
            var result = results[c.Endpoint];
            Assert.True(JobStatus.Failed == result.Status, $"{c.Endpoint}: {result.Json}");
            var error = result.Result!.Error!;
            Assert.True((c.Class, c.Status, c.Retryable) == (error.Class, error.StatusCode ?? 0, error.Retryable), $"{c.Endpoint}: {result.Json}");
            Assert.Equal((c.Provider, c.Endpoint), (result.Json.GetProperty("provider").GetString(), result.Json.GetProperty("endpoint").GetString()));
            Assert.DoesNotContain("sk-expected", result.Json.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_explicit_endpoint_wins_and_an_unknown_one_is_never_sent()
    {
        await using var harness = await WorkerHarness.StartAsync(broker, Models(), s =>
        {
            var root = s["Llm:BaseUrl"]!.TrimEnd('/')[..^"/v1".Length];
            Endpoint(s, "claude", "anthropic", root + "/v1", "claude-sonnet-4-5");
        });
        harness.Simulator.Stats.Reset();
        await harness.PublishAsync([
            """{"id":"pinned","endpoint":"claude","prompt":"Pinned"}""",
            """{"id":"nowhere","endpoint":"nowhere","prompt":"Lost"}""",
        ]);

        var results = (await harness.ResultsAsync(2)).ToDictionary(r => r.Id);

        Assert.Equal(JobStatus.Succeeded, results["pinned"].Status);
        Assert.Equal("anthropic", results["pinned"].Json.GetProperty("provider").GetString());
        Assert.Equal(AnswerGenerator.Generate("claude-sonnet-4-5", "Pinned"), results["pinned"].Content);
        Assert.Equal(JobStatus.Failed, results["nowhere"].Status);
        Assert.Equal("InvalidRequest", results["nowhere"].Result!.Error!.Class);
        Assert.Contains("unknown_endpoint", results["nowhere"].Result!.Error!.Message, StringComparison.Ordinal);
        Assert.Equal(1, harness.Simulator.Stats.TotalRequests);
    }

    [Fact]
    public async Task An_overloaded_primary_falls_back_to_the_secondary_and_the_result_records_the_chain()
    {
        await using var down = await SimulatorServer.StartAsync(new SimulatorOptions
        {
            Models = ["gpt-4o"],
            Faults = { Rate = 1, Modes = ["unavailable"] },
        });
        await using var harness = await WorkerHarness.StartAsync(broker, Models(), s =>
        {
            Endpoint(s, "primary", "openai", new Uri(down.BaseAddress, "v1").ToString(), "gpt-4o");
            Endpoint(s, "secondary", "openai", s["Llm:BaseUrl"]!, "gpt-4o-mini");
            s["Llm:Fallbacks:gpt-4o:0"] = "secondary/gpt-4o";
            s["Resilience:MaxRetryAttempts"] = "1";
        });
        await harness.PublishAsync([
            """{"id":"fb-stream","model":"gpt-4o","prompt":"Fall back","stream":true}""",
            """{"id":"fb-json","model":"gpt-4o","prompt":"Fall back","stream":false}""",
        ]);

        var results = await harness.ResultsAsync(2);

        foreach (var result in results)
        {
            Assert.True(JobStatus.Succeeded == result.Status, result.Json.ToString());
            Assert.Equal(AnswerGenerator.Generate("gpt-4o", "Fall back"), result.Content);
            Assert.Equal(["primary", "secondary"], result.Json.GetProperty("chain").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal("secondary", result.Json.GetProperty("endpoint").GetString());
            Assert.Equal("openai", result.Json.GetProperty("provider").GetString());
            Assert.Equal(3, result.Attempts);
        }

        Assert.True(down.Stats.TotalRequests >= 4, $"primary saw {down.Stats.TotalRequests} requests");
    }

    [Fact]
    public async Task No_fallback_once_a_token_has_streamed()
    {
        // The primary drops every stream half-way through its answer: the job saw tokens, so it is not sent elsewhere.
        await using var dropping = await SimulatorServer.StartAsync(new SimulatorOptions
        {
            Models = ["gpt-4o"],
            Faults = { Rate = 1, Modes = ["drop"] },
        });
        await using var harness = await WorkerHarness.StartAsync(broker, Models(), s =>
        {
            Endpoint(s, "primary", "openai", new Uri(dropping.BaseAddress, "v1").ToString(), "gpt-4o");
            Endpoint(s, "secondary", "openai", s["Llm:BaseUrl"]!, "gpt-4o-mini");
            s["Llm:Fallbacks:gpt-4o:0"] = "secondary/gpt-4o";
            s["Resilience:MaxRetryAttempts"] = "1";
        });
        harness.Simulator.Stats.Reset();
        await harness.PublishAsync(["""{"id":"mid-stream","model":"gpt-4o","prompt":"Tell me a long story about streams","stream":true}"""]);

        var result = Assert.Single(await harness.ResultsAsync(1));

        Assert.Equal(JobStatus.Failed, result.Status);
        Assert.Equal("primary", result.Json.GetProperty("endpoint").GetString());
        Assert.False(result.Json.TryGetProperty("chain", out _));
        Assert.Equal(0, harness.Simulator.Stats.TotalRequests);
        Assert.True(dropping.Stats.TotalRequests >= 1);
    }
}
