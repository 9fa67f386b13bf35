using System.Text.Json;
using System.Text.Json.Nodes;
using Worker.Simulator.Tests.Infrastructure;
using static Worker.Simulator.Tests.Infrastructure.SimulatorHttp;

namespace Worker.Simulator.Tests.Tools;

public sealed class ToolCallTests
{
    internal const string WeatherSchema = """
        {"type":"object","properties":{
          "city":{"type":"string","minLength":3},
          "unit":{"type":"string","enum":["celsius","fahrenheit"]},
          "days":{"type":"integer","minimum":1,"maximum":7},
          "hourly":{"type":"boolean"},
          "tags":{"type":"array","items":{"type":"string"},"minItems":2,"maxItems":3}},
         "required":["city","unit","days","hourly","tags"],"additionalProperties":false}
        """;

    internal static JsonArray Tools() => new(
        new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = "get_weather", ["parameters"] = JsonNode.Parse(WeatherSchema) },
        },
        new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = "get_time", ["parameters"] = JsonNode.Parse("""{"type":"object","properties":{"zone":{"type":"string"}},"required":["zone"]}""") },
        });

    [Fact]
    public async Task Forced_named_function_returns_a_tool_call_with_schema_valid_arguments()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();
        using var response = await http.SendAsync("v1/chat/completions", ChatBody("hello there", extra: body =>
        {
            body["tools"] = Tools();
            body["tool_choice"] = JsonNode.Parse("""{"type":"function","function":{"name":"get_weather"}}""");
        }));
        Assert.Equal(200, (int)response.StatusCode);
        var choice = (await response.ReadJsonAsync()).GetProperty("choices")[0];
        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        var message = choice.GetProperty("message");
        Assert.Equal(JsonValueKind.Null, message.GetProperty("content").ValueKind);
        var call = Assert.Single(message.GetProperty("tool_calls").EnumerateArray());
        Assert.StartsWith("call_", call.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("function", call.GetProperty("type").GetString());
        Assert.Equal("get_weather", call.GetProperty("function").GetProperty("name").GetString());
        AssertValidWeather(call.GetProperty("function").GetProperty("arguments").GetString()!);
    }

    [Fact]
    public async Task Same_request_gives_the_same_arguments()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();
        var body = ChatBody("weather in Paris?", extra: b => { b["tools"] = Tools(); b["tool_choice"] = "required"; });
        using var first = await http.SendAsync("v1/chat/completions", body);
        using var second = await http.SendAsync("v1/chat/completions", body);
        var a = (await first.ReadJsonAsync()).GetProperty("choices")[0].GetProperty("message").GetProperty("tool_calls")[0];
        var b = (await second.ReadJsonAsync()).GetProperty("choices")[0].GetProperty("message").GetProperty("tool_calls")[0];
        Assert.Equal(a.GetRawText(), b.GetRawText());
        Assert.Equal("get_weather", a.GetProperty("function").GetProperty("name").GetString());
    }

    [Fact]
    public async Task Required_calls_the_mentioned_function_else_the_first()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();
        Assert.Equal("get_time", await CalledAsync(http, "what is the time? use get time", "required"));
        Assert.Equal("get_weather", await CalledAsync(http, "anything", "required"));
    }

    [Fact]
    public async Task Auto_calls_a_tool_only_when_the_last_user_message_names_it()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();
        Assert.Equal("get_weather", await CalledAsync(http, "Please call get_weather for Oslo", "auto"));
        Assert.Equal("get_weather", await CalledAsync(http, "Please GET WEATHER for Oslo", null));
        Assert.Null(await CalledAsync(http, "Tell me a story", "auto"));
        Assert.Null(await CalledAsync(http, "Please call get_weather for Oslo", "none"));
    }

    [Fact]
    public async Task Auto_answers_in_text_after_a_tool_result()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();
        var body = new JsonObject
        {
            ["model"] = Model,
            ["tools"] = Tools(),
            ["messages"] = JsonNode.Parse("""
                [{"role":"user","content":"call get_weather for Oslo"},
                 {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{}"}}]},
                 {"role":"tool","tool_call_id":"call_1","content":"sunny"}]
                """),
        };
        using var response = await http.SendAsync("v1/chat/completions", body.ToJsonString());
        var choice = (await response.ReadJsonAsync()).GetProperty("choices")[0];
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.False(string.IsNullOrEmpty(choice.GetProperty("message").GetProperty("content").GetString()));
        Assert.False(choice.GetProperty("message").TryGetProperty("tool_calls", out _));
    }

    [Fact]
    public async Task Without_tools_the_answer_is_the_plain_text_answer()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();
        using var response = await http.SendAsync("v1/chat/completions", ChatBody("call get_weather please"));
        var choice = (await response.ReadJsonAsync()).GetProperty("choices")[0];
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(Worker.Simulator.Generation.AnswerGenerator.Generate(Model, "call get_weather please"), choice.GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task Streamed_tool_call_deltas_have_openai_shape_and_rebuild_the_arguments()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();
        var body = ChatBody("hi", stream: true, extra: b =>
        {
            b["tools"] = Tools();
            b["tool_choice"] = "required";
            b["n"] = 2;
        });
        using var response = await http.SendAsync("v1/chat/completions", body);
        var events = await response.ReadEventsAsync();
        Assert.Equal("[DONE]", events[^1]);

        using var nonStreaming = await http.SendAsync("v1/chat/completions", ChatBody("hi", extra: b => { b["tools"] = Tools(); b["tool_choice"] = "required"; b["n"] = 2; }));
        var whole = await nonStreaming.ReadJsonAsync();

        for (var choice = 0; choice < 2; choice++)
        {
            string? id = null, name = null;
            var arguments = new System.Text.StringBuilder();
            string? finish = null;
            var first = true;
            foreach (var data in events.Take(events.Count - 1))
            {
                using var doc = JsonDocument.Parse(data);
                foreach (var c in doc.RootElement.GetProperty("choices").EnumerateArray().Where(c => c.GetProperty("index").GetInt32() == choice))
                {
                    var delta = c.GetProperty("delta");
                    if (first)
                    {
                        Assert.Equal("assistant", delta.GetProperty("role").GetString());
                        first = false;
                    }

                    if (c.GetProperty("finish_reason").ValueKind == JsonValueKind.String)
                    {
                        finish = c.GetProperty("finish_reason").GetString();
                    }

                    if (!delta.TryGetProperty("tool_calls", out var calls))
                    {
                        continue;
                    }

                    var call = Assert.Single(calls.EnumerateArray());
                    Assert.Equal(0, call.GetProperty("index").GetInt32());
                    if (call.TryGetProperty("id", out var idValue))
                    {
                        Assert.Null(id);
                        id = idValue.GetString();
                        Assert.Equal("function", call.GetProperty("type").GetString());
                    }

                    var function = call.GetProperty("function");
                    if (function.TryGetProperty("name", out var nameValue))
                    {
                        name = nameValue.GetString();
                    }

                    arguments.Append(function.GetProperty("arguments").GetString());
                }
            }

            Assert.Equal("tool_calls", finish);
            Assert.Equal("get_weather", name);
            var expected = whole.GetProperty("choices")[choice].GetProperty("message").GetProperty("tool_calls")[0];
            Assert.Equal(expected.GetProperty("id").GetString(), id);
            Assert.Equal(expected.GetProperty("function").GetProperty("arguments").GetString(), arguments.ToString());
            AssertValidWeather(arguments.ToString());
        }

        // More than one argument chunk per choice: deltas really are streamed in pieces.
        Assert.True(events.Count(e => e.Contains("\"arguments\"", StringComparison.Ordinal)) > 6);
    }

    [Theory]
    [InlineData("""{"tool_choice":"required"}""", "tool_choice", null)]
    [InlineData("""{"tools":[{"type":"function","function":{"name":"a"}}],"tool_choice":{"type":"function","function":{"name":"b"}}}""", "tool_choice", "invalid_value")]
    [InlineData("""{"tools":[{"type":"function","function":{"name":"a"}}],"tool_choice":"sometimes"}""", "tool_choice", "invalid_value")]
    [InlineData("""{"tools":[{"type":"function"}]}""", "tools[0].function", "missing_required_parameter")]
    [InlineData("""{"tools":[{"type":"function","function":{}}]}""", "tools[0].function.name", "missing_required_parameter")]
    [InlineData("""{"tools":[{"type":"other","function":{"name":"a"}}]}""", "tools[0].type", "invalid_value")]
    [InlineData("""{"tools":"x"}""", "tools", "invalid_type")]
    public async Task Invalid_tools_are_400_naming_the_parameter(string extra, string param, string? code)
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();
        var body = ChatBody("hi", extra: b =>
        {
            foreach (var (key, value) in JsonNode.Parse(extra)!.AsObject())
            {
                b[key] = value?.DeepClone();
            }
        });
        using var response = await http.SendAsync("v1/chat/completions", body);
        Assert.Equal(400, (int)response.StatusCode);
        var error = (await response.ReadJsonAsync()).GetProperty("error");
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
    }

    private static async Task<string?> CalledAsync(HttpClient http, string prompt, string? toolChoice)
    {
        using var response = await http.SendAsync("v1/chat/completions", ChatBody(prompt, extra: b =>
        {
            b["tools"] = Tools();
            if (toolChoice is not null)
            {
                b["tool_choice"] = toolChoice;
            }
        }));
        Assert.Equal(200, (int)response.StatusCode);
        var choice = (await response.ReadJsonAsync()).GetProperty("choices")[0];
        if (!choice.GetProperty("message").TryGetProperty("tool_calls", out var calls))
        {
            Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
            return null;
        }

        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        return calls[0].GetProperty("function").GetProperty("name").GetString();
    }

    internal static void AssertValidWeather(string arguments)
    {
        using var doc = JsonDocument.Parse(arguments);
        var root = doc.RootElement;
        Assert.Equal(["city", "days", "hourly", "tags", "unit"], root.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.True(root.GetProperty("city").GetString()!.Length >= 3);
        Assert.Contains(root.GetProperty("unit").GetString(), new[] { "celsius", "fahrenheit" });
        Assert.InRange(root.GetProperty("days").GetInt32(), 1, 7);
        Assert.True(root.GetProperty("hourly").ValueKind is JsonValueKind.True or JsonValueKind.False);
        Assert.InRange(root.GetProperty("tags").GetArrayLength(), 2, 3);
        Assert.All(root.GetProperty("tags").EnumerateArray(), t => Assert.Equal(JsonValueKind.String, t.ValueKind));
    }
}
