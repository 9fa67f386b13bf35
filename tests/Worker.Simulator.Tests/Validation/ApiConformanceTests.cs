using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Worker.Simulator.Tests.Infrastructure;
using static Worker.Simulator.Tests.Infrastructure.SimulatorHttp;

namespace Worker.Simulator.Tests.Validation;

/// <summary>What real clients rely on: unknown models and arguments refused, request ids, 429 types, drops as errors.</summary>
public sealed class ApiConformanceTests
{
    [Fact]
    public async Task Unknown_model_is_404_model_not_found_and_listed_models_work()
    {
        await using var sim = await SimulatorServer.StartAsync(new() { Models = ["alpha", "beta"] });
        using var http = sim.CreateClient();
        using var unknown = await http.SendAsync("v1/chat/completions", ChatBody("hi", model: "gpt-4o-mini"));
        Assert.Equal(404, (int)unknown.StatusCode);
        var error = (await unknown.ReadJsonAsync()).GetProperty("error");
        AssertProperties(error, "message", "type", "param", "code");
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Contains("`gpt-4o-mini`", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        using var known = await http.SendAsync("v1/chat/completions", ChatBody("hi", model: "beta"));
        Assert.Equal(200, (int)known.StatusCode);

        using var one = await http.GetAsync("v1/models/nope");
        Assert.Equal(404, (int)one.StatusCode);
        Assert.Equal("model_not_found", (await one.ReadJsonAsync()).GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(200, (int)(await http.GetAsync("v1/models/alpha")).StatusCode);
    }

    [Fact]
    public async Task Default_models_include_every_model_the_repository_uses()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();
        foreach (var model in new[] { "gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-3.5-turbo", "simulator" })
        {
            using var response = await http.SendAsync("v1/chat/completions", ChatBody("hi", model: model));
            Assert.True(200 == (int)response.StatusCode, model);
        }
    }

    [Fact]
    public async Task Unknown_top_level_argument_is_400_and_every_real_parameter_is_accepted()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();
        using var bad = await http.SendAsync("v1/chat/completions", ChatBody("hi", extra: b => b["temprature"] = 0.5));
        Assert.Equal(400, (int)bad.StatusCode);
        var error = (await bad.ReadJsonAsync()).GetProperty("error");
        Assert.Equal("Unrecognized request argument supplied: temprature", error.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("unrecognized_request_argument", error.GetProperty("code").GetString());
        Assert.Equal("temprature", error.GetProperty("param").GetString());

        var real = JsonNode.Parse("""
            {"n":1,"seed":7,"stop":["\n"],"logprobs":false,"top_logprobs":null,"user":"u","metadata":{"a":"b"},"store":false,
             "service_tier":"auto","frequency_penalty":0,"presence_penalty":0,"logit_bias":{"50256":-100},
             "max_completion_tokens":50,"reasoning_effort":"low","modalities":["text"],"prediction":null,"audio":null,
             "web_search_options":null,"top_p":1,"temperature":0.5,"response_format":{"type":"text"},"max_tokens":60,
             "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{}}}}],
             "tool_choice":"none","parallel_tool_calls":true,"stream":true,"stream_options":{"include_usage":true}}
            """)!.AsObject();
        using var ok = await http.SendAsync("v1/chat/completions", ChatBody("hi", extra: b =>
        {
            foreach (var (key, value) in real)
            {
                b[key] = value?.DeepClone();
            }
        }));
        Assert.Equal(200, (int)ok.StatusCode);
        Assert.Equal("[DONE]", (await ok.ReadEventsAsync())[^1]);
    }

    [Fact]
    public async Task Every_answer_has_an_x_request_id()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();
        using var chat = await http.SendAsync("v1/chat/completions", ChatBody("hi"));
        using var stream = await http.SendAsync("v1/chat/completions", ChatBody("hi", stream: true));
        using var error = await http.SendAsync("v1/chat/completions", "{");
        using var fault = await http.SendAsync("v1/chat/completions", ChatBody("hi"), ("X-Sim-Fault", "server_error"));
        using var models = await http.GetAsync("v1/models");
        using var missing = await http.GetAsync("no/such/route");
        var ids = new List<string>();
        foreach (var response in new[] { chat, stream, error, fault, models, missing })
        {
            Assert.True(response.Headers.TryGetValues("x-request-id", out var values), $"{response.RequestMessage!.RequestUri} has no x-request-id");
            var id = Assert.Single(values);
            Assert.StartsWith("req_", id, StringComparison.Ordinal);
            ids.Add(id);
        }

        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    [Theory]
    [InlineData("rate_limit", "requests")]
    [InlineData("rate_limit;limit=tokens", "tokens")]
    public async Task Rate_limit_type_names_the_limit_like_the_real_api(string fault, string type)
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();
        using var response = await http.SendAsync("v1/chat/completions", ChatBody("hi"), ("X-Sim-Fault", fault));
        Assert.Equal(429, (int)response.StatusCode);
        var error = (await response.ReadJsonAsync()).GetProperty("error");
        Assert.Equal(type, error.GetProperty("type").GetString());
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Faults_can_carry_the_retry_hints_the_sdks_honour()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();
        using var response = await http.SendAsync("v1/chat/completions", ChatBody("hi"), ("X-Sim-Fault", "server_error;should_retry=false;retry_after_ms=250"));
        Assert.Equal(500, (int)response.StatusCode);
        Assert.Equal("false", Assert.Single(response.Headers.GetValues("x-should-retry")));
        Assert.Equal("250", Assert.Single(response.Headers.GetValues("retry-after-ms")));

        using var plain = await http.SendAsync("v1/chat/completions", ChatBody("hi"), ("X-Sim-Fault", "server_error"));
        Assert.False(plain.Headers.Contains("x-should-retry"));
        Assert.False(plain.Headers.Contains("retry-after-ms"));

        using var bad = await http.SendAsync("v1/chat/completions", ChatBody("hi"), ("X-Sim-Fault", "server_error;should_retry=perhaps"));
        Assert.Equal(400, (int)bad.StatusCode);
    }

    [Fact]
    public async Task Drop_aborts_the_connection_without_ending_the_chunked_body()
    {
        await using var sim = await SimulatorServer.StartAsync();
        var body = ChatBody("hi", stream: true);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(sim.BaseAddress.Host, sim.BaseAddress.Port);
        var request = $"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Sim-Fault: drop;after=2\r\nX-Sim-Tokens: 6\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}";
        await socket.SendAsync(Encoding.UTF8.GetBytes(request));

        var received = new MemoryStream();
        var buffer = new byte[8192];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (SocketException)
        {
            // A reset is an abort too.
        }

        var text = Encoding.UTF8.GetString(received.ToArray());
        Assert.StartsWith("HTTP/1.1 200", text, StringComparison.Ordinal);
        Assert.Contains("transfer-encoding: chunked", text, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("\"content\":", text, StringComparison.Ordinal);
        Assert.DoesNotContain("[DONE]", text, StringComparison.Ordinal);
        Assert.False(text.EndsWith("0\r\n\r\n", StringComparison.Ordinal), "the body must not end with the terminating chunk");
    }
}
