using System.Net;
using System.Text.Json;
using Worker.Simulator.Generation;
using Worker.Simulator.Tests.Infrastructure;

namespace Worker.Simulator.Tests.OtherEndpoints;

/// <summary>The plain POST /generate endpoint.</summary>
public sealed class GenerateEndpointTests
{
    [Fact]
    public async Task Generate_returns_text()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("generate", """{"prompt":"write a haiku","max_tokens":4}""", ("X-Sim-Tokens", "9"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var root = await response.ReadJsonAsync();
        SimulatorHttp.AssertProperties(root, "text", "model", "finish_reason", "usage");
        var expected = AnswerGenerator.Complete(AnswerGenerator.GenerateEndpointDefaultModel, "write a haiku", requestedTokens: 9, maxTokens: 4);
        Assert.Equal(expected.Text, root.GetProperty("text").GetString());
        Assert.Equal("length", root.GetProperty("finish_reason").GetString());
        Assert.Equal(4, root.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.Equal(3, root.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }

    [Fact]
    public async Task Generate_streams_token_events_ending_with_DONE()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("generate", """{"prompt":"stream it","stream":true,"model":"m1"}""");

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = await response.ReadEventsAsync();
        Assert.Equal("[DONE]", events[^1]);
        var tokens = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement.GetProperty("token").GetString()!).ToList();
        Assert.Equal(AnswerGenerator.GenerateTokens("m1", "stream it"), tokens);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"prompt":5}""")]
    [InlineData("nope")]
    public async Task Invalid_generate_request_is_400(string body)
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("generate", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", (await response.ReadJsonAsync()).GetProperty("error").GetProperty("type").GetString());
    }
}
