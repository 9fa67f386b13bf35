using System.Net;
using System.Text.Json;
using Worker.Simulator.Stats;
using Worker.Simulator.Tests.Infrastructure;

namespace Worker.Simulator.Tests.Validation;

/// <summary>400s with OpenAI's error object, naming the parameter as OpenAI does.</summary>
public sealed class RequestValidationTests
{
    private const string User = """{"role":"user","content":"hi"}""";

    public static TheoryData<string, string?, string?> InvalidBodies => new()
    {
        { "{not json", null, null },
        { "", null, null },
        { "[1,2]", null, null },
        { $$"""{"model":"m","messages":[{{User}}]} trailing""", null, null },
        { $$"""{"model":"m","messages":[{{User}}],"n":0,}""", null, null },
        { """{"model":"m"}""", "messages", "missing_required_parameter" },
        { """{"model":"m","messages":[]}""", "messages", "empty_array" },
        { """{"model":"m","messages":"hi"}""", "messages", "invalid_type" },
        { """{"model":"m","messages":["hi"]}""", "messages[0]", "invalid_type" },
        { """{"model":"m","messages":[{"content":"hi"}]}""", "messages[0].role", "missing_required_parameter" },
        { """{"model":"m","messages":[{"role":"wizard","content":"hi"}]}""", "messages[0].role", "invalid_value" },
        { """{"model":"m","messages":[{"role":5,"content":"hi"}]}""", "messages[0].role", "invalid_type" },
        { $$"""{"model":"m","messages":[{{User}},{"role":"user","content":5}]}""", "messages[1].content", "invalid_type" },
        { """{"model":"m","messages":[{"role":"user"}]}""", "messages[0].content", "missing_required_parameter" },
        { """{"model":"m","messages":[{"role":"user","content":[{"text":"x"}]}]}""", "messages[0].content[0].type", "missing_required_parameter" },
        { $$"""{"messages":[{{User}}]}""", "model", "missing_required_parameter" },
        { $$"""{"model":7,"messages":[{{User}}]}""", "model", "invalid_type" },
        { $$"""{"model":"m","messages":[{{User}}],"n":0}""", "n", "integer_below_min_value" },
        { $$"""{"model":"m","messages":[{{User}}],"n":"2"}""", "n", "invalid_type" },
        { $$"""{"model":"m","messages":[{{User}}],"n":1.5}""", "n", "invalid_type" },
        { $$"""{"model":"m","messages":[{{User}}],"temperature":2.5}""", "temperature", "decimal_above_max_value" },
        { $$"""{"model":"m","messages":[{{User}}],"temperature":-0.1}""", "temperature", "decimal_below_min_value" },
        { $$"""{"model":"m","messages":[{{User}}],"temperature":"hot"}""", "temperature", "invalid_type" },
        { $$"""{"model":"m","messages":[{{User}}],"max_tokens":0}""", "max_tokens", "integer_below_min_value" },
        { $$"""{"model":"m","messages":[{{User}}],"stream":"yes"}""", "stream", "invalid_type" },
        { $$$"""{"model":"m","messages":[{{{User}}}],"stream_options":{"include_usage":true}}""", "stream_options", null },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task Invalid_request_is_a_400_with_the_OpenAI_error_object(string body, string? param, string? code)
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/chat/completions", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var root = await response.ReadJsonAsync();
        SimulatorHttp.AssertProperties(root, "error");
        var error = root.GetProperty("error");
        SimulatorHttp.AssertProperties(error, "message", "type", "param", "code");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        AssertNullableString(param, error.GetProperty("param"));
        AssertNullableString(code, error.GetProperty("code"));
        if (param is null && code is null)
        {
            Assert.StartsWith("We could not parse the JSON body", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(1, sim.Stats.Count(SimulatorOutcome.BadRequest));
        Assert.Equal(0, sim.Stats.Count(SimulatorOutcome.Ok));
    }

    [Fact]
    public async Task Messages_wording_matches_OpenAI()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        async Task<string> MessageOf(string body)
        {
            using var response = await http.SendAsync("v1/chat/completions", body);
            return (await response.ReadJsonAsync()).GetProperty("error").GetProperty("message").GetString()!;
        }

        Assert.Equal("Missing required parameter: 'messages'.", await MessageOf("""{"model":"m"}"""));
        Assert.Equal(
            "Invalid type for 'model': expected a string, but got an integer instead.",
            await MessageOf($$"""{"model":7,"messages":[{{User}}]}"""));
        Assert.Equal(
            "Invalid 'n': integer below minimum value. Expected a value >= 1, but got 0 instead.",
            await MessageOf($$"""{"model":"m","messages":[{{User}}],"n":0}"""));
        Assert.Equal(
            "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 3 instead.",
            await MessageOf($$"""{"model":"m","messages":[{{User}}],"temperature":3}"""));
        Assert.Equal(
            "Invalid value: 'wizard'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.",
            await MessageOf("""{"model":"m","messages":[{"role":"wizard","content":"hi"}]}"""));
    }

    [Fact]
    public async Task Real_parameters_and_nulls_for_optional_ones_are_accepted()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        const string Body = """
            {"model":"gpt-4o-mini","messages":[{"role":"developer","content":"be brief"},{"role":"user","content":"hi","name":"bob"},
             {"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]}],
             "n":null,"temperature":null,"top_p":1,"max_tokens":null,"stream":false,"stream_options":null,
             "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"seed":3,"user":"u"}
            """;
        using var response = await http.SendAsync("v1/chat/completions", Body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static void AssertNullableString(string? expected, JsonElement actual)
    {
        if (expected is null)
        {
            Assert.Equal(JsonValueKind.Null, actual.ValueKind);
        }
        else
        {
            Assert.Equal(expected, actual.GetString());
        }
    }
}
