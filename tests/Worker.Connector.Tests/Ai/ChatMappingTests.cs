using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Worker.Connector.Ai;
using Worker.Connector.OpenAi;
using ChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Worker.Connector.Tests.Ai;

/// <summary>How IChatClient messages and options become an OpenAI body, and OpenAI answers become ChatResponses.</summary>
public sealed class ChatMappingTests
{
    private static JsonElement Body(IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream = false)
    {
        using var document = JsonDocument.Parse(ChatRequestWriter.Write(messages, options, options?.ModelId ?? "gpt-4o-mini", stream));
        return document.RootElement.Clone();
    }

    [Fact]
    public void Messages_map_to_openai_roles_tool_calls_tool_results_and_image_parts()
    {
        var call = new FunctionCallContent("call_1", "get_weather", new Dictionary<string, object?> { ["city"] = "Oslo", ["days"] = 2 });
        var body = Body(
            [
                new ChatMessage(ChatRole.System, "be brief"),
                new ChatMessage(ChatRole.User, [new TextContent("what is this?"), new UriContent(new Uri("https://example.com/a.png"), "image/png")]) { AuthorName = "bob" },
                new ChatMessage(ChatRole.Assistant, [call]),
                new ChatMessage(ChatRole.Tool, [new FunctionResultContent("call_1", "sunny, 21 C")]),
            ],
            new ChatOptions { Instructions = "You are a weather bot." });

        var messages = body.GetProperty("messages");
        Assert.Equal(5, messages.GetArrayLength());
        Assert.Equal("system", messages[0].GetProperty("role").GetString());
        Assert.Equal("You are a weather bot.", messages[0].GetProperty("content").GetString());
        Assert.Equal("be brief", messages[1].GetProperty("content").GetString());

        var user = messages[2];
        Assert.Equal("bob", user.GetProperty("name").GetString());
        Assert.Equal("text", user.GetProperty("content")[0].GetProperty("type").GetString());
        Assert.Equal("https://example.com/a.png", user.GetProperty("content")[1].GetProperty("image_url").GetProperty("url").GetString());

        var assistant = messages[3];
        Assert.Equal(JsonValueKind.Null, assistant.GetProperty("content").ValueKind);
        var toolCall = assistant.GetProperty("tool_calls")[0];
        Assert.Equal("call_1", toolCall.GetProperty("id").GetString());
        Assert.Equal("get_weather", toolCall.GetProperty("function").GetProperty("name").GetString());
        using var arguments = JsonDocument.Parse(toolCall.GetProperty("function").GetProperty("arguments").GetString()!);
        Assert.Equal("Oslo", arguments.RootElement.GetProperty("city").GetString());
        Assert.Equal(2, arguments.RootElement.GetProperty("days").GetInt32());

        Assert.Equal("tool", messages[4].GetProperty("role").GetString());
        Assert.Equal("call_1", messages[4].GetProperty("tool_call_id").GetString());
        Assert.Equal("sunny, 21 C", messages[4].GetProperty("content").GetString());
    }

    [Fact]
    public void Options_map_to_openai_parameters()
    {
        var function = AIFunctionFactory.Create((string city, int days) => $"{city}:{days}", "get_weather", "Weather for a city.");
        using var schema = JsonDocument.Parse("""{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}""");
        var body = Body([new ChatMessage(ChatRole.User, "hi")], new ChatOptions
        {
            ModelId = "gpt-4o",
            Temperature = 0.25f,
            TopP = 0.5f,
            MaxOutputTokens = 42,
            Seed = 7,
            StopSequences = ["END"],
            Tools = [function],
            ToolMode = ChatToolMode.RequireSpecific("get_weather"),
            AllowMultipleToolCalls = false,
            ResponseFormat = ChatResponseFormat.ForJsonSchema(schema.RootElement.Clone(), "answer", "An answer."),
            AdditionalProperties = new AdditionalPropertiesDictionary { ["user"] = "u-1" },
        }, stream: true);

        Assert.Equal("gpt-4o", body.GetProperty("model").GetString());
        Assert.Equal(0.25, body.GetProperty("temperature").GetDouble(), 3);
        Assert.Equal(0.5, body.GetProperty("top_p").GetDouble(), 3);
        Assert.Equal(42, body.GetProperty("max_tokens").GetInt32());
        Assert.Equal(7, body.GetProperty("seed").GetInt64());
        Assert.Equal("END", body.GetProperty("stop")[0].GetString());
        Assert.True(body.GetProperty("stream").GetBoolean());
        Assert.True(body.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        var tool = body.GetProperty("tools")[0];
        Assert.Equal("function", tool.GetProperty("type").GetString());
        Assert.Equal("get_weather", tool.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("Weather for a city.", tool.GetProperty("function").GetProperty("description").GetString());
        Assert.Equal("integer", tool.GetProperty("function").GetProperty("parameters").GetProperty("properties").GetProperty("days").GetProperty("type").GetString());
        Assert.Equal("get_weather", body.GetProperty("tool_choice").GetProperty("function").GetProperty("name").GetString());
        Assert.False(body.GetProperty("parallel_tool_calls").GetBoolean());
        var format = body.GetProperty("response_format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.Equal("answer", format.GetProperty("json_schema").GetProperty("name").GetString());
        Assert.True(format.GetProperty("json_schema").GetProperty("strict").GetBoolean());
        Assert.Equal("object", format.GetProperty("json_schema").GetProperty("schema").GetProperty("type").GetString());
        Assert.Equal("u-1", body.GetProperty("user").GetString());
    }

    [Theory]
    [InlineData("auto")]
    [InlineData("none")]
    [InlineData("required")]
    public void Tool_modes_map_to_tool_choice(string expected)
    {
        ChatToolMode mode = expected switch { "auto" => ChatToolMode.Auto, "none" => ChatToolMode.None, _ => ChatToolMode.RequireAny };
        var body = Body([new ChatMessage(ChatRole.User, "hi")], new ChatOptions { Tools = [AIFunctionFactory.Create(() => 1, "f")], ToolMode = mode });
        Assert.Equal(expected, body.GetProperty("tool_choice").GetString());
    }

    [Fact]
    public void Json_without_schema_is_json_object_and_text_sends_no_format()
    {
        Assert.Equal("json_object", Body([new ChatMessage(ChatRole.User, "hi")], new ChatOptions { ResponseFormat = ChatResponseFormat.Json }).GetProperty("response_format").GetProperty("type").GetString());
        Assert.False(Body([new ChatMessage(ChatRole.User, "hi")], new ChatOptions { ResponseFormat = ChatResponseFormat.Text }).TryGetProperty("response_format", out _));
    }

    [Fact]
    public void A_streamed_tool_call_answer_maps_to_function_calls_finish_reason_and_usage()
    {
        var stream = new StringBuilder()
            .Append("data: {\"id\":\"c1\",\"model\":\"gpt-4o-mini\",\"created\":1700000000,\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_9\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n")
            .Append("data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]},\"finish_reason\":null}]}\n\n")
            .Append("data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Oslo\\\"}\"}}]},\"finish_reason\":null}]}\n\n")
            .Append("data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n")
            .Append("data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}\n\n")
            .Append("data: [DONE]\n\n")
            .ToString();
        var completion = ChatCompletionParser.Parse(stream);

        var response = ChatResponseMapper.ToResponse(completion);
        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        Assert.Equal("c1", response.ResponseId);
        Assert.Equal("gpt-4o-mini", response.ModelId);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1700000000), response.CreatedAt);
        Assert.Equal(5, response.Usage!.InputTokenCount);
        Assert.Equal(3, response.Usage.OutputTokenCount);
        Assert.Equal(8, response.Usage.TotalTokenCount);
        var call = Assert.Single(response.Messages.Single().Contents.OfType<FunctionCallContent>());
        Assert.Equal("call_9", call.CallId);
        Assert.Equal("get_weather", call.Name);
        Assert.Equal("Oslo", call.Arguments!["city"]?.ToString());

        var rebuilt = ChatResponseMapper.ToUpdates(completion).ToChatResponse();
        Assert.Equal(ChatFinishReason.ToolCalls, rebuilt.FinishReason);
        Assert.Equal("call_9", Assert.Single(rebuilt.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>()).CallId);
        Assert.Equal(8, rebuilt.Usage!.TotalTokenCount);
    }

    [Fact]
    public void Text_answers_map_to_text_and_stream_updates_rebuild_it()
    {
        var completion = ChatCompletionParser.Parse("""{"id":"x","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Paris."},"finish_reason":"length"}]}""");
        var response = ChatResponseMapper.ToResponse(completion);
        Assert.Equal("Paris.", response.Text);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Null(response.Usage);
        Assert.Equal("Paris.", ChatResponseMapper.ToUpdates(completion).ToChatResponse().Text);
    }

    [Theory]
    [InlineData("stop", "stop")]
    [InlineData("content_filter", "content_filter")]
    [InlineData("function_call", "tool_calls")]
    [InlineData("something_new", "something_new")]
    public void Finish_reasons(string wire, string expected) =>
        Assert.Equal(expected, ChatResponseMapper.FinishReason(wire)!.Value.Value);
}
