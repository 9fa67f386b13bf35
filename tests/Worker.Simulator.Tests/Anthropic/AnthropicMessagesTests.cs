using System.Globalization;
using System.Net;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Worker.Simulator.Generation;
using Worker.Simulator.Tests.Infrastructure;
using static Worker.Simulator.Tests.Infrastructure.SimulatorHttp;

namespace Worker.Simulator.Tests.Anthropic;

/// <summary>Anthropic Messages: the JSON answer, the named event stream, headers and validation.</summary>
public sealed class AnthropicMessagesTests
{
    internal const string Claude = "claude-sonnet-4-5";
    internal static readonly (string, string) VersionHeader = ("anthropic-version", "2023-06-01");

    internal static string Body(string prompt = "Say something", bool stream = false, int maxTokens = 1024, string? extra = null) =>
        $$"""{"model":"{{Claude}}","max_tokens":{{maxTokens}},"system":"You are terse.","messages":[{"role":"user","content":"{{prompt}}"}]{{(stream ? ",\"stream\":true" : "")}}{{extra}}}""";

    [Fact]
    public async Task Json_answer_has_the_message_shape_and_the_deterministic_text()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/messages", Body(), VersionHeader);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var root = await response.ReadJsonAsync();
        AssertProperties(root, "id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage");
        Assert.StartsWith("msg_", root.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("message", root.GetProperty("type").GetString());
        Assert.Equal("assistant", root.GetProperty("role").GetString());
        Assert.Equal(Claude, root.GetProperty("model").GetString());
        var block = Assert.Single(root.GetProperty("content").EnumerateArray());
        AssertProperties(block, "type", "text");
        var expected = AnswerGenerator.Complete(Claude, "Say something");
        Assert.Equal(expected.Text, block.GetProperty("text").GetString());
        Assert.Equal("end_turn", root.GetProperty("stop_reason").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("stop_sequence").ValueKind);
        var usage = root.GetProperty("usage");
        AssertProperties(usage, "input_tokens", "output_tokens");
        Assert.Equal(5, usage.GetProperty("input_tokens").GetInt32()); // "You are terse." + "Say something"
        Assert.Equal(expected.CompletionTokens, usage.GetProperty("output_tokens").GetInt32());
    }

    [Fact]
    public async Task Content_blocks_and_the_route_without_v1_answer_the_same_text()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();
        var body = $$$"""{"model":"{{{Claude}}}","max_tokens":50,"system":[{"type":"text","text":"Be brief."}],"messages":[{"role":"user","content":"first"},{"role":"assistant","content":"ok"},{"role":"user","content":[{"type":"text","text":"Say"},{"type":"text","text":"something"}]}],"temperature":0.5,"stop_sequences":["END"],"tools":[],"metadata":{"user_id":"u"}}""";

        using var response = await http.SendAsync("messages", body, VersionHeader);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var root = await response.ReadJsonAsync();
        Assert.Equal(AnswerGenerator.Complete(Claude, "Say\nsomething", maxTokens: 50).Text, root.GetProperty("content")[0].GetProperty("text").GetString());
        Assert.Equal(6, root.GetProperty("usage").GetProperty("input_tokens").GetInt32());
    }

    [Fact]
    public async Task Max_tokens_cuts_the_answer_with_stop_reason_max_tokens()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/messages", Body(maxTokens: 3), VersionHeader, ("X-Sim-Tokens", "10"));

        var root = await response.ReadJsonAsync();
        Assert.Equal("max_tokens", root.GetProperty("stop_reason").GetString());
        Assert.Equal(3, root.GetProperty("usage").GetProperty("output_tokens").GetInt32());
        Assert.Equal(AnswerGenerator.Generate(Claude, "Say something", 0, 3), root.GetProperty("content")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Stream_is_the_exact_named_event_sequence()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/messages", Body(stream: true), VersionHeader, ("X-Sim-Tokens", "3"));

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = await ReadNamedEventsAsync(response);
        Assert.Equal(
            ["message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop", "message_delta", "message_stop"],
            events.Select(e => e.Name));
        Assert.All(events, e => Assert.Equal(e.Name, e.Data.GetProperty("type").GetString()));

        var message = events[0].Data.GetProperty("message");
        AssertProperties(message, "id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage");
        Assert.Equal(0, message.GetProperty("content").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, message.GetProperty("stop_reason").ValueKind);
        Assert.Equal(5, message.GetProperty("usage").GetProperty("input_tokens").GetInt32());

        Assert.Equal("""{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}""", events[1].Raw);
        Assert.Equal("""{"type":"ping"}""", events[2].Raw);
        var tokens = AnswerGenerator.GenerateTokens(Claude, "Say something", 0, 3);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(
                $$$"""{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":{{{JsonSerializer.Serialize(tokens[i])}}}}}""",
                events[3 + i].Raw);
        }

        Assert.Equal("""{"type":"content_block_stop","index":0}""", events[6].Raw);
        Assert.Equal("""{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":3}}""", events[7].Raw);
        Assert.Equal("""{"type":"message_stop"}""", events[8].Raw);
    }

    [Fact]
    public async Task Missing_version_header_is_400_invalid_request_error()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/messages", Body());

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", "anthropic-version: header is required");
    }

    [Theory]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", "max_tokens: Field required")]
    [InlineData("""{"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""", "model: Field required")]
    [InlineData("""{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"temprature":1}""", "temprature: Extra inputs are not permitted")]
    [InlineData("""{"model":"m","max_tokens":5,"messages":[{"role":"system","content":"hi"}]}""", "messages.0.role: Input should be 'user' or 'assistant'")]
    [InlineData("""{"model":"m","max_tokens":0,"messages":[{"role":"user","content":"hi"}]}""", "max_tokens: Input should be greater than or equal to 1")]
    [InlineData("""{"model":"m","max_tokens":5,"messages":[]}""", "messages: at least one message is required")]
    [InlineData("""{"model":"m","max_tokens":5""", "There was an error parsing the body of your request. Please make sure it is valid JSON.")]
    public async Task Invalid_bodies_are_400_invalid_request_error(string body, string message)
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/messages", body, VersionHeader);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error", message);
        Assert.Equal(1, (await http.GetStatsAsync()).GetProperty("outcomes").GetProperty("bad_request").GetInt32());
    }

    [Fact]
    public async Task Api_key_is_read_from_x_api_key()
    {
        await using var sim = await SimulatorServer.StartAsync(new() { ApiKey = "sk-ant-secret-key-123" });
        using var http = sim.CreateClient();

        using var missing = await http.SendAsync("v1/messages", Body(), VersionHeader);
        using var wrong = await http.SendAsync("v1/messages", Body(), VersionHeader, ("x-api-key", "sk-ant-wrong-key-999"));
        using var right = await http.SendAsync("v1/messages", Body(), VersionHeader, ("x-api-key", "sk-ant-secret-key-123"));

        await AssertErrorAsync(missing, HttpStatusCode.Unauthorized, "authentication_error", "x-api-key header is required");
        var text = await wrong.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.DoesNotContain("999", text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
    }

    internal static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string type, string? message = null)
    {
        Assert.Equal(status, response.StatusCode);
        var root = await response.ReadJsonAsync();
        AssertProperties(root, "type", "error");
        Assert.Equal("error", root.GetProperty("type").GetString());
        var error = root.GetProperty("error");
        AssertProperties(error, "type", "message");
        Assert.Equal(type, error.GetProperty("type").GetString());
        if (message is not null)
        {
            Assert.Equal(message, error.GetProperty("message").GetString());
        }
    }

    internal static async Task<List<(string Name, string Raw, JsonElement Data)>> ReadNamedEventsAsync(HttpResponseMessage response)
    {
        var events = new List<(string, string, JsonElement)>();
        await using var stream = await response.Content.ReadAsStreamAsync();
        await foreach (var item in SseParser.Create(stream).EnumerateAsync())
        {
            using var document = JsonDocument.Parse(item.Data);
            events.Add((item.EventType, item.Data, document.RootElement.Clone()));
        }

        return events;
    }

    internal static int Seconds(string value) => int.Parse(value, CultureInfo.InvariantCulture);
}
