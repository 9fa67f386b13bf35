using Worker.Connector.OpenAi;

namespace Worker.Connector.Tests.OpenAi;

public sealed class ChatCompletionParserTests
{
    private static string Chunk(string choices, string? extra = null) =>
        $"data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[{choices}]{extra}}}\n\n";

    [Fact]
    public void Stream_with_role_content_finish_and_usage()
    {
        var body = Chunk("{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}")
            + Chunk("{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}")
            + Chunk("{\"index\":0,\"delta\":{\"content\":\" world\"},\"finish_reason\":null}")
            + Chunk("{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}")
            + "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}\n\n"
            + "data: [DONE]\n\n";
        var completion = ChatCompletionParser.Parse(body);
        Assert.True(completion.Streamed);
        Assert.Equal("Hello world", completion.Content);
        Assert.Equal("stop", completion.FinishReason);
        Assert.Equal("assistant", completion.Choices[0].Role);
        Assert.Equal(new ChatUsage(9, 2, 11), completion.Usage);
        Assert.Equal("c1", completion.Id);
        Assert.Equal("gpt-4o-mini", completion.Model);
        Assert.Equal(1700000000, completion.Created);
    }

    [Fact]
    public void Multiple_choices_are_accumulated_by_index()
    {
        var body = Chunk("{\"index\":1,\"delta\":{\"role\":\"assistant\",\"content\":\"B1\"}},{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"A1\"}}")
            + Chunk("{\"index\":0,\"delta\":{\"content\":\"A2\"}}")
            + Chunk("{\"index\":1,\"delta\":{\"content\":\"B2\"},\"finish_reason\":\"length\"}")
            + Chunk("{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}")
            + "data: [DONE]\n\n";
        var completion = ChatCompletionParser.Parse(body);
        Assert.Equal(2, completion.Choices.Count);
        Assert.Equal((0, "A1A2", "stop"), (completion.Choices[0].Index, completion.Choices[0].Content, completion.Choices[0].FinishReason));
        Assert.Equal((1, "B1B2", "length"), (completion.Choices[1].Index, completion.Choices[1].Content, completion.Choices[1].FinishReason));
    }

    [Fact]
    public void Tool_call_deltas_concatenate_arguments()
    {
        var body = Chunk("{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]}}")
            + Chunk("{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]}}")
            + Chunk("{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]}}")
            + Chunk("{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"now\",\"arguments\":\"{}\"}}]}}")
            + Chunk("{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}")
            + "data: [DONE]\n\n";
        var choice = ChatCompletionParser.Parse(body).Choices.Single();
        Assert.Null(choice.Content);
        Assert.Equal("tool_calls", choice.FinishReason);
        Assert.Equal(2, choice.ToolCalls.Count);
        Assert.Equal(new ChatToolCall(0, "call_1", "function", "get_weather", "{\"city\":\"Paris\"}"), choice.ToolCalls[0]);
        Assert.Equal(new ChatToolCall(1, "call_2", "function", "now", "{}"), choice.ToolCalls[1]);
    }

    [Fact]
    public void Refusal_is_accumulated()
    {
        var body = Chunk("{\"index\":0,\"delta\":{\"role\":\"assistant\",\"refusal\":\"I can't\"}}")
            + Chunk("{\"index\":0,\"delta\":{\"refusal\":\" help.\"},\"finish_reason\":\"stop\"}") + "data: [DONE]\n\n";
        Assert.Equal("I can't help.", ChatCompletionParser.Parse(body).Choices[0].Refusal);
    }

    [Fact]
    public void Error_event_in_the_stream_is_a_failure_not_a_short_success()
    {
        var body = Chunk("{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"partial\"}}")
            + "data: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n";
        var ex = Assert.Throws<ConnectorException>(() => ChatCompletionParser.Parse(body));
        Assert.Equal(ErrorClass.Transient, ex.ErrorClass);
        Assert.Contains("The server had an error", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rate_limit_error_event_is_RateLimited()
    {
        var body = "data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}\n\n";
        Assert.Equal(ErrorClass.RateLimited, Assert.Throws<ConnectorException>(() => ChatCompletionParser.Parse(body)).ErrorClass);
    }

    [Fact]
    public void Truncated_stream_without_done_or_finish_reason_is_a_transient_failure()
    {
        var body = Chunk("{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}");
        var ex = Assert.Throws<ConnectorException>(() => ChatCompletionParser.Parse(body));
        Assert.Equal(ErrorClass.Transient, ex.ErrorClass);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Stream_with_finish_reason_but_no_done_marker_is_complete()
    {
        var body = Chunk("{\"index\":0,\"delta\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}");
        Assert.Equal("ok", ChatCompletionParser.Parse(body).Content);
    }

    [Fact]
    public void Malformed_chunk_is_a_transient_failure()
    {
        var body = Chunk("{\"index\":0,\"delta\":{\"content\":\"a\"}}") + "data: {not json\n\n" + "data: [DONE]\n\n";
        var ex = Assert.Throws<ConnectorException>(() => ChatCompletionParser.Parse(body));
        Assert.Equal(ErrorClass.Transient, ex.ErrorClass);
        Assert.Contains("malformed", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Non_streaming_completion_json()
    {
        const string body = """
            {"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",
             "choices":[{"index":0,"message":{"role":"assistant","content":"Paris.","refusal":null},"logprobs":null,"finish_reason":"stop"}],
             "usage":{"prompt_tokens":14,"completion_tokens":2,"total_tokens":16}}
            """;
        var completion = ChatCompletionParser.Parse(body);
        Assert.False(completion.Streamed);
        Assert.Equal("Paris.", completion.Content);
        Assert.Equal("stop", completion.FinishReason);
        Assert.Equal(16, completion.Usage!.TotalTokens);
    }

    [Fact]
    public void Non_streaming_tool_calls_without_index_keep_their_order()
    {
        const string body = """
            {"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":null,
             "tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"b","type":"function","function":{"name":"g","arguments":"[]"}}]},
             "finish_reason":"tool_calls"}]}
            """;
        var calls = ChatCompletionParser.Parse(body).Choices[0].ToolCalls;
        Assert.Equal(["a", "b"], calls.Select(c => c.Id));
    }

    [Fact]
    public void Body_starting_with_data_is_parsed_as_sse_even_when_json_was_asked()
    {
        var body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"}}]}\n\ndata: [DONE]\n\n";
        Assert.Equal("x", ChatCompletionParser.Parse(body).Content);
    }

    [Fact]
    public void Error_object_body_is_classified()
    {
        const string body = """{"error":{"message":"Invalid 'messages'","type":"invalid_request_error","param":"messages","code":null}}""";
        Assert.Equal(ErrorClass.InvalidRequest, Assert.Throws<ConnectorException>(() => ChatCompletionParser.Parse(body)).ErrorClass);
    }

    [Fact]
    public void Garbage_body_is_a_clear_failure()
    {
        var ex = Assert.Throws<ConnectorException>(() => ChatCompletionParser.Parse("<html>oops</html>"));
        Assert.Contains("neither JSON nor an event stream", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Streaming_parse_from_a_live_stream_matches_the_whole_body_parse()
    {
        var body = Chunk("{\"index\":0,\"delta\":{\"content\":\"a\"}}") + Chunk("{\"index\":0,\"delta\":{\"content\":\"b\"},\"finish_reason\":\"stop\"}") + "data: [DONE]\n\n";
        using var stream = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(body));
        var live = await ChatCompletionParser.ParseStreamAsync(stream);
        Assert.Equal(ChatCompletionParser.Parse(body).Content, live.Content);
    }
}
