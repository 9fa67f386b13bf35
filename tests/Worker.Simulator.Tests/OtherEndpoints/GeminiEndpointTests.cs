using System.Net;
using System.Text.Json;
using Worker.Simulator.Generation;
using Worker.Simulator.Tests.Infrastructure;
using static Worker.Simulator.Tests.Infrastructure.SimulatorHttp;

namespace Worker.Simulator.Tests.OtherEndpoints;

/// <summary>Gemini generateContent and streamGenerateContent.</summary>
public sealed class GeminiEndpointTests
{
    private const string GeminiModel = "gemini-2.0-flash";
    private const string Body = """{"contents":[{"role":"user","parts":[{"text":"Say"},{"text":"something"}]}]}""";

    [Fact]
    public async Task GenerateContent_returns_a_GenerateContentResponse()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync($"v1beta/models/{GeminiModel}:generateContent", Body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var root = await response.ReadJsonAsync();
        AssertProperties(root, "candidates", "usageMetadata", "modelVersion");
        var candidate = Assert.Single(root.GetProperty("candidates").EnumerateArray());
        AssertProperties(candidate, "content", "finishReason", "index");
        Assert.Equal("STOP", candidate.GetProperty("finishReason").GetString());
        Assert.Equal(0, candidate.GetProperty("index").GetInt32());
        Assert.Equal("model", candidate.GetProperty("content").GetProperty("role").GetString());
        var text = Assert.Single(candidate.GetProperty("content").GetProperty("parts").EnumerateArray()).GetProperty("text").GetString();

        var prompt = AnswerGenerator.JoinParts(["Say", "something"]);
        var expected = AnswerGenerator.Complete(GeminiModel, prompt);
        Assert.Equal(expected.Text, text);

        var usage = root.GetProperty("usageMetadata");
        Assert.Equal(2, usage.GetProperty("promptTokenCount").GetInt32());
        Assert.Equal(expected.CompletionTokens, usage.GetProperty("candidatesTokenCount").GetInt32());
        Assert.Equal(2 + expected.CompletionTokens, usage.GetProperty("totalTokenCount").GetInt32());
    }

    [Fact]
    public async Task StreamGenerateContent_with_alt_sse_streams_chunks_that_add_up_to_the_answer()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync($"v1beta/models/{GeminiModel}:streamGenerateContent?alt=sse", Body, ("X-Sim-Tokens", "6"));

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = await response.ReadEventsAsync();
        Assert.Equal(7, events.Count); // 6 tokens + the finish chunk; Gemini has no [DONE]
        var texts = events.Select(e => JsonDocument.Parse(e).RootElement.GetProperty("candidates")[0]).ToList();
        Assert.Equal(
            AnswerGenerator.Generate(GeminiModel, "Say\nsomething", 0, 6),
            string.Concat(texts.Select(c => c.GetProperty("content").GetProperty("parts")[0].GetProperty("text").GetString())));
        Assert.Equal("STOP", texts[^1].GetProperty("finishReason").GetString());
        Assert.All(texts.SkipLast(1), c => Assert.False(c.TryGetProperty("finishReason", out _)));
    }

    [Fact]
    public async Task StreamGenerateContent_without_alt_sse_is_a_JSON_array()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync($"v1beta/models/{GeminiModel}:streamGenerateContent", Body, ("X-Sim-Tokens", "3"));

        var root = await response.ReadJsonAsync();
        Assert.Equal(JsonValueKind.Array, root.ValueKind);
        Assert.Equal(4, root.GetArrayLength());
    }

    [Fact]
    public async Task MaxOutputTokens_cuts_with_MAX_TOKENS()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync(
            $"v1beta/models/{GeminiModel}:generateContent",
            """{"contents":[{"parts":[{"text":"hi"}]}],"generationConfig":{"maxOutputTokens":2}}""",
            ("X-Sim-Tokens", "10"));
        var candidate = (await response.ReadJsonAsync()).GetProperty("candidates")[0];

        Assert.Equal("MAX_TOKENS", candidate.GetProperty("finishReason").GetString());
        Assert.Equal(AnswerGenerator.Generate(GeminiModel, "hi", 0, 2), candidate.GetProperty("content").GetProperty("parts")[0].GetProperty("text").GetString());
    }

    [Theory]
    [InlineData("v1beta/models/gemini-2.0-flash:generateContent", "{}", HttpStatusCode.BadRequest)]
    [InlineData("v1beta/models/gemini-2.0-flash:generateContent", "{nope", HttpStatusCode.BadRequest)]
    [InlineData("v1beta/models/gemini-2.0-flash:countTokens", """{"contents":[{"parts":[{"text":"hi"}]}]}""", HttpStatusCode.NotFound)]
    public async Task Errors_use_the_google_error_shape(string path, string body, HttpStatusCode status)
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync(path, body);

        Assert.Equal(status, response.StatusCode);
        var error = (await response.ReadJsonAsync()).GetProperty("error");
        AssertProperties(error, "code", "message", "status");
        Assert.Equal((int)status, error.GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task Faults_apply_with_google_statuses()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync($"v1beta/models/{GeminiModel}:generateContent", Body, ("X-Sim-Fault", "rate_limit;retry_after=3"));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), response.Headers.RetryAfter?.Delta);
        Assert.Equal("RESOURCE_EXHAUSTED", (await response.ReadJsonAsync()).GetProperty("error").GetProperty("status").GetString());
    }
}
