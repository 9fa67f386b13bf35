using System.Text;
using System.Text.Json;
using Worker.Connector.Anthropic;
using Worker.Connector.OpenAi;

namespace Worker.Connector.Tests.Providers;

/// <summary>Anthropic request mapping and answer parsing on canned wire text (shapes from Anthropic's docs).</summary>
public sealed class AnthropicParsingTests
{
    private static ReadOnlyMemory<byte> Utf8(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public void Tool_use_stream_with_input_json_delta_becomes_a_tool_call()
    {
        const string Stream = """
            event: message_start
            data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-x","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}

            event: content_block_start
            data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

            event: ping
            data: {"type": "ping"}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking."}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":0}

            event: content_block_start
            data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\": \"Os"}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"lo\"}"}}

            event: content_block_stop
            data: {"type":"content_block_stop","index":1}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

            event: message_stop
            data: {"type":"message_stop"}

            """;

        var (completion, error) = AnthropicResponseParser.ParseStream(Utf8(Stream.ReplaceLineEndings("\r\n")));

        Assert.Null(error);
        Assert.Equal("Checking.", completion!.Content);
        Assert.Equal("tool_calls", completion.FinishReason);
        Assert.Equal("tool_use", completion.ProviderFinishReason);
        var call = Assert.Single(completion.Choices[0].ToolCalls);
        Assert.Equal(new ChatToolCall(0, "toolu_1", "function", "get_weather", "{\"location\": \"Oslo\"}"), call);
        Assert.Equal(new ChatUsage(25, 89, 114), completion.Usage);
        Assert.Equal("claude-x", completion.Model);
    }

    [Fact]
    public void An_error_event_is_returned_as_the_error_and_classified_by_its_type()
    {
        const string Stream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":1}}}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";

        var (completion, error) = AnthropicResponseParser.ParseStream(Utf8(Stream));

        Assert.Null(completion);
        Assert.Equal(new AnthropicError("overloaded_error", "Overloaded"), error);
        Assert.Equal(ErrorClass.Transient, error!.Classify(200));
    }

    [Fact]
    public void A_stream_without_message_stop_is_incomplete()
    {
        const string Stream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"}}\n\n";

        Assert.ThrowsAny<JsonException>(() => AnthropicResponseParser.ParseStream(Utf8(Stream)));
    }

    [Theory]
    [InlineData(529, "overloaded_error", ErrorClass.Transient)]
    [InlineData(500, "api_error", ErrorClass.Transient)]
    [InlineData(429, "rate_limit_error", ErrorClass.RateLimited)]
    [InlineData(400, "invalid_request_error", ErrorClass.InvalidRequest)]
    [InlineData(401, "authentication_error", ErrorClass.Permanent)]
    [InlineData(403, "permission_error", ErrorClass.Permanent)]
    [InlineData(529, null, ErrorClass.Transient)]
    public void Errors_are_classified_by_type_then_status(int status, string? type, ErrorClass expected) =>
        Assert.Equal(expected, new AnthropicError(type, "m").Classify(status));

    [Theory]
    [InlineData("end_turn", "stop")]
    [InlineData("stop_sequence", "stop")]
    [InlineData("max_tokens", "length")]
    [InlineData("tool_use", "tool_calls")]
    [InlineData("refusal", "content_filter")]
    public void Stop_reasons_map_to_the_OpenAI_vocabulary(string stopReason, string expected) =>
        Assert.Equal(expected, AnthropicFinishReasons.ToOpenAi(stopReason));

    [Fact]
    public void Request_maps_system_max_tokens_stop_and_drops_OpenAI_only_parameters()
    {
        var request = new ChatCompletionRequest
        {
            Messages = [ChatMessage.System("A."), ChatMessage.System("B."), ChatMessage.User("hi"), new ChatMessage("assistant", "yo"), ChatMessage.User("again")],
            Temperature = 0.5,
            ExtraParameters = new Dictionary<string, JsonElement>
            {
                ["stop"] = JsonSerializer.SerializeToElement("END"),
                ["response_format"] = JsonSerializer.SerializeToElement(new { type = "json_object" }),
                ["top_k"] = JsonSerializer.SerializeToElement(5),
            },
        };

        var body = Encoding.UTF8.GetString(AnthropicRequestWriter.Write(request, "claude-x", defaultMaxTokens: 1024));

        Assert.Equal(
            """{"model":"claude-x","max_tokens":1024,"system":"A.\n\nB.","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"},{"role":"user","content":"again"}],"temperature":0.5,"stream":true,"stop_sequences":["END"],"top_k":5}""",
            body);
    }
}
