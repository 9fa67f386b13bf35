using System.Text.Json;
using System.Text.Json.Nodes;
using Worker.Simulator.Tests.Infrastructure;
using static Worker.Simulator.Tests.Infrastructure.SimulatorHttp;

namespace Worker.Simulator.Tests.Tools;

public sealed class StructuredOutputTests
{
    private const string PersonSchema = """
        {"type":"object","properties":{
           "name":{"type":"string"},
           "age":{"type":"integer","minimum":18,"maximum":99},
           "score":{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1},
           "email":{"type":"string","format":"email"},
           "nickname":{"type":["string","null"]},
           "address":{"$ref":"#/$defs/address"},
           "roles":{"type":"array","items":{"type":"string","enum":["admin","user","guest"]},"minItems":1}},
         "required":["name","age","score","email","nickname","address","roles"],
         "additionalProperties":false,
         "$defs":{"address":{"type":"object","properties":{"street":{"type":"string"},"zip":{"type":"string","maxLength":5}},
                  "required":["street","zip"],"additionalProperties":false}}}
        """;

    [Fact]
    public async Task Json_schema_strict_gets_a_deterministic_answer_valid_against_the_schema()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();
        var body = ChatBody("describe a person", extra: b => b["response_format"] = JsonNode.Parse(
            $$$"""{"type":"json_schema","json_schema":{"name":"person","strict":true,"schema":{{{PersonSchema}}}}}"""));
        using var first = await http.SendAsync("v1/chat/completions", body);
        using var second = await http.SendAsync("v1/chat/completions", body);
        var choice = (await first.ReadJsonAsync()).GetProperty("choices")[0];
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        var content = choice.GetProperty("message").GetProperty("content").GetString()!;
        Assert.Equal(content, (await second.ReadJsonAsync()).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());

        using var doc = JsonDocument.Parse(content);
        var person = doc.RootElement;
        Assert.Equal(["address", "age", "email", "name", "nickname", "roles", "score"], person.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(JsonValueKind.String, person.GetProperty("name").ValueKind);
        Assert.InRange(person.GetProperty("age").GetInt32(), 18, 99);
        var score = person.GetProperty("score").GetDouble();
        Assert.True(score is > 0 and < 1, $"score {score}");
        Assert.Contains('@', person.GetProperty("email").GetString()!);
        Assert.Equal(JsonValueKind.String, person.GetProperty("nickname").ValueKind);
        Assert.Equal(["street", "zip"], person.GetProperty("address").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.True(person.GetProperty("address").GetProperty("zip").GetString()!.Length <= 5);
        Assert.NotEqual(0, person.GetProperty("roles").GetArrayLength());
        Assert.All(person.GetProperty("roles").EnumerateArray(), r => Assert.Contains(r.GetString(), new[] { "admin", "user", "guest" }));
    }

    [Fact]
    public async Task Json_object_gets_a_json_object_and_streams_the_same_text()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();
        using var whole = await http.SendAsync("v1/chat/completions", ChatBody("answer in json", extra: b => b["response_format"] = JsonNode.Parse("""{"type":"json_object"}""")));
        var content = (await whole.ReadJsonAsync()).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        using (var doc = JsonDocument.Parse(content))
        {
            Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
            Assert.Equal(JsonValueKind.String, doc.RootElement.GetProperty("answer").ValueKind);
        }

        using var streamed = await http.SendAsync("v1/chat/completions", ChatBody("answer in json", stream: true, extra: b => b["response_format"] = JsonNode.Parse("""{"type":"json_object"}""")));
        var events = await streamed.ReadEventsAsync();
        Assert.Equal(content, AccumulateContent(events));
        Assert.True(events.Count > 4);
    }

    [Fact]
    public async Task Max_tokens_cuts_a_json_answer_with_finish_reason_length()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();
        using var response = await http.SendAsync("v1/chat/completions", ChatBody("x", extra: b =>
        {
            b["response_format"] = JsonNode.Parse($$$"""{"type":"json_schema","json_schema":{"name":"p","schema":{{{PersonSchema}}}}}""");
            b["max_tokens"] = 2;
        }));
        var choice = (await response.ReadJsonAsync()).GetProperty("choices")[0];
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(16, choice.GetProperty("message").GetProperty("content").GetString()!.Length);
    }

    [Theory]
    [InlineData("""{"type":"object","properties":{"child":{"$ref":"#"}},"required":["child"]}""")]
    [InlineData("""{"anyOf":[{"$ref":"#"}]}""")]
    [InlineData("""{"type":"object","properties":{"list":{"type":"array","minItems":1000000000},"text":{"type":"string","minLength":2000000000},"n":{"type":"integer","minimum":-9000000000000000000,"maximum":9000000000000000000}}}""")]
    public async Task Hostile_schemas_still_get_a_bounded_answer(string schema)
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();
        using var response = await http.SendAsync("v1/chat/completions", ChatBody("x", extra: b =>
            b["response_format"] = JsonNode.Parse($$$"""{"type":"json_schema","json_schema":{"name":"h","schema":{{{schema}}}}}""")));
        Assert.Equal(200, (int)response.StatusCode);
        var content = (await response.ReadJsonAsync()).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        Assert.InRange(content.Length, 1, 1_000_000);
        using var doc = JsonDocument.Parse(content, new JsonDocumentOptions { MaxDepth = 256 });
    }

    [Theory]
    [InlineData("""{"type":"xml"}""", "response_format.type", "invalid_value")]
    [InlineData("""{"type":"json_schema"}""", "response_format.json_schema", "missing_required_parameter")]
    [InlineData("""{"type":"json_schema","json_schema":{"schema":{}}}""", "response_format.json_schema.name", "missing_required_parameter")]
    [InlineData("\"json\"", "response_format", "invalid_type")]
    public async Task Invalid_response_format_is_400(string format, string param, string code)
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();
        using var response = await http.SendAsync("v1/chat/completions", ChatBody("x", extra: b => b["response_format"] = JsonNode.Parse(format)));
        Assert.Equal(400, (int)response.StatusCode);
        var error = (await response.ReadJsonAsync()).GetProperty("error");
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
    }
}
