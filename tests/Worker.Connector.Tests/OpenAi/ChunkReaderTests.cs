using System.Text;
using System.Text.Json;
using Worker.Connector.OpenAi;

namespace Worker.Connector.Tests.OpenAi;

/// <summary>The hand-written chunk reader reads what the source-generated serializer reads, and refuses what it refuses.</summary>
public sealed class ChunkReaderTests
{
    public static TheoryData<string> Chunks() =>
    [
        """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}""",
        """{"id":"c","choices":[{"index":0,"delta":{"content":"Par\u00eds \"quoted\" \n line"},"logprobs":null,"finish_reason":null}]}""",
        """{"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}""",
        """{"id":"c","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":"7","total_tokens":19,"prompt_tokens_details":{"cached_tokens":0}}}""",
        """{"id":"c","created":"1700000000","choices":[{"index":"1","delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"a\":"}}]}}]}""",
        """{"id":"c","choices":[{"index":0,"delta":{"tool_calls":[{"index":null,"function":{"arguments":"1}"}}]}}]}""",
        """{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"no"},"finish_reason":"content_filter"}]}""",
        """{"error":{"message":"Rate limit","type":"requests","code":"rate_limit_exceeded","param":null}}""",
        """{"unknown":{"deep":[1,2,{"x":[true,false,null]}]},"id":"c","choices":null,"extra":"x"}""",
        """  {"id":"c","id":"d"}  """,
        """{}""",
    ];

    [Theory]
    [MemberData(nameof(Chunks))]
    public void Reads_what_the_serializer_reads(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var expected = JsonSerializer.Deserialize(bytes, OpenAiJsonContext.Default.ChunkDto);
        var actual = ChunkReader.Read(bytes);
        Assert.Equal(JsonSerializer.Serialize(expected, OpenAiJsonContext.Default.ChunkDto), JsonSerializer.Serialize(actual, OpenAiJsonContext.Default.ChunkDto));
    }

    [Fact]
    public void Reads_null_as_null() => Assert.Null(ChunkReader.Read("null"u8));

    [Theory]
    [InlineData("""{"id":"c",}""")]
    [InlineData("""{"id":5}""")]
    [InlineData("""{"choices":[{"index":null}]}""")]
    [InlineData("""{"choices":[{"index":1.5}]}""")]
    [InlineData("""{"choices":{"index":0}}""")]
    [InlineData("""{"choices":[{"delta":"text"}]}""")]
    [InlineData("""{"id":"c"} {"id":"d"}""")]
    [InlineData("""{"id":"c" /* comment */}""")]
    [InlineData("""{"id":"c""")]
    [InlineData("""[]""")]
    [InlineData("")]
    [InlineData("""{"usage":{"prompt_tokens":"x"}}""")]
    public void Refuses_what_the_serializer_refuses(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize(bytes, OpenAiJsonContext.Default.ChunkDto));
        Assert.ThrowsAny<JsonException>(() => ChunkReader.Read(bytes));
    }

    [Fact]
    public void Refuses_a_null_choice_the_accumulator_could_not_use() =>
        Assert.ThrowsAny<JsonException>(() => ChunkReader.Read("""{"choices":[null]}"""u8));

    [Fact]
    public void A_known_header_is_checked_but_not_read()
    {
        var chunk = ChunkReader.Read("""{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"x"}}]}"""u8, headerKnown: true);
        Assert.NotNull(chunk);
        Assert.Null(chunk.Id);
        Assert.Null(chunk.Model);
        Assert.Null(chunk.Created);
        Assert.Equal("x", Assert.Single(chunk.Choices!).Delta!.Content);
        Assert.ThrowsAny<JsonException>(() => ChunkReader.Read("""{"id":5}"""u8, headerKnown: true));
        Assert.ThrowsAny<JsonException>(() => ChunkReader.Read("""{"created":"soon"}"""u8, headerKnown: true));
    }
}
