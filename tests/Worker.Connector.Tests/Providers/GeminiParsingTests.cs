using System.Text;
using System.Text.Json;
using Worker.Connector.Gemini;
using Worker.Connector.OpenAi;
using Worker.Connector.Providers;

namespace Worker.Connector.Tests.Providers;

/// <summary>Gemini request mapping and answer parsing on canned wire text, and the shared SSE reader.</summary>
public sealed class GeminiParsingTests
{
    private static ReadOnlyMemory<byte> Utf8(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public void A_blocked_prompt_has_no_completion_but_its_block_reason()
    {
        var result = GeminiResponseParser.ParseJson(Utf8("""{"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[]},"usageMetadata":{"promptTokenCount":7,"totalTokenCount":7}}"""));

        Assert.Null(result.Completion);
        Assert.Equal("SAFETY", result.BlockReason);
    }

    [Fact]
    public void A_safety_stop_is_content_filter_with_the_original_kept()
    {
        var result = GeminiResponseParser.ParseJson(Utf8("""{"candidates":[{"content":{"parts":[{"text":"Partial"}],"role":"model"},"finishReason":"SAFETY","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1,"totalTokenCount":4},"modelVersion":"gemini-x"}"""));

        var completion = result.Completion!;
        Assert.Equal("Partial", completion.Content);
        Assert.Equal("content_filter", completion.FinishReason);
        Assert.Equal("SAFETY", completion.ProviderFinishReason);
        Assert.Equal(new ChatUsage(3, 1, 4), completion.Usage);
    }

    [Fact]
    public void A_function_call_part_is_a_tool_call()
    {
        var result = GeminiResponseParser.ParseStream(Utf8("data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":\"Oslo\"}}}],\"role\":\"model\"},\"finishReason\":\"STOP\"}]}\r\n\r\n"));

        var completion = result.Completion!;
        Assert.Equal("tool_calls", completion.FinishReason);
        Assert.Equal(new ChatToolCall(0, null, "function", "get_weather", """{"city":"Oslo"}"""), Assert.Single(completion.Choices[0].ToolCalls));
        Assert.Null(completion.Choices[0].Content);
    }

    [Theory]
    [InlineData(429, "RESOURCE_EXHAUSTED", "Quota", ErrorClass.RateLimited)]
    [InlineData(400, "INVALID_ARGUMENT", "Bad field", ErrorClass.InvalidRequest)]
    [InlineData(400, "FAILED_PRECONDITION", "Region", ErrorClass.InvalidRequest)]
    [InlineData(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", ErrorClass.Permanent)]
    [InlineData(401, "UNAUTHENTICATED", "No", ErrorClass.Permanent)]
    [InlineData(403, "PERMISSION_DENIED", "No", ErrorClass.Permanent)]
    [InlineData(500, "INTERNAL", "Oops", ErrorClass.Transient)]
    [InlineData(503, "UNAVAILABLE", "Busy", ErrorClass.Transient)]
    public void Errors_are_classified_by_Google_status(int code, string status, string message, ErrorClass expected) =>
        Assert.Equal(expected, new GeminiError(code, message, status).Classify(code));

    [Theory]
    [InlineData("STOP", "stop")]
    [InlineData("MAX_TOKENS", "length")]
    [InlineData("SAFETY", "content_filter")]
    [InlineData("RECITATION", "content_filter")]
    [InlineData("BLOCKLIST", "content_filter")]
    [InlineData("PROHIBITED_CONTENT", "content_filter")]
    public void Finish_reasons_map_to_the_OpenAI_vocabulary(string finishReason, string expected) =>
        Assert.Equal(expected, GeminiFinishReasons.ToOpenAi(finishReason));

    [Fact]
    public void Request_maps_roles_system_instruction_and_generation_config()
    {
        var request = new ChatCompletionRequest
        {
            Messages = [ChatMessage.System("Be brief."), ChatMessage.User("hi"), new ChatMessage("assistant", "yo")],
            MaxTokens = 10,
            Temperature = 0.5,
            ExtraParameters = new Dictionary<string, JsonElement> { ["stop"] = JsonSerializer.SerializeToElement(new[] { "END" }) },
        };

        var body = Encoding.UTF8.GetString(GeminiRequestWriter.Write(request, defaultMaxTokens: null));

        Assert.Equal(
            """{"contents":[{"role":"user","parts":[{"text":"hi"}]},{"role":"model","parts":[{"text":"yo"}]}],"systemInstruction":{"parts":[{"text":"Be brief."}]},"generationConfig":{"maxOutputTokens":10,"temperature":0.5,"stopSequences":["END"]}}""",
            body);
    }

    [Fact]
    public void Sse_reader_handles_names_crlf_comments_and_multi_line_data()
    {
        var events = ServerSentEventReader.Read(Utf8(": comment\r\nevent: a\r\ndata: one\r\ndata: two\r\n\r\ndata:x\n\nevent: b\ndata: last")).ToList();

        Assert.Equal(3, events.Count);
        Assert.Equal(("a", "one\ntwo"), (events[0].Name, Encoding.UTF8.GetString(events[0].Data.Span)));
        Assert.Equal((null, "x"), (events[1].Name, Encoding.UTF8.GetString(events[1].Data.Span)));
        Assert.Equal(("b", "last"), (events[2].Name, Encoding.UTF8.GetString(events[2].Data.Span)));
    }
}
