using System.Text.Json;
using Worker.Simulator.Generation;
using Worker.Simulator.Tests.Infrastructure;
using static Worker.Simulator.Tests.Infrastructure.SimulatorHttp;

namespace Worker.Simulator.Tests.Chat;

/// <summary>The streamed chat.completion.chunk events, field by field against OpenAI's documented format.</summary>
public sealed class ChatStreamShapeTests
{
    [Fact]
    public async Task Stream_has_role_chunk_content_chunks_finish_chunk_usage_chunk_then_done()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync(
            "v1/chat/completions",
            ChatBody("Tell me about rivers", stream: true, extra: b => b["stream_options"] = new System.Text.Json.Nodes.JsonObject { ["include_usage"] = true }),
            ("X-Sim-Tokens", "5"));

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = await response.ReadEventsAsync();

        // role + 5 content + finish + usage + [DONE]
        Assert.Equal(9, events.Count);
        Assert.Equal("[DONE]", events[^1]);

        var chunks = events.Take(8).Select(e => JsonDocument.Parse(e).RootElement).ToList();
        var id = chunks[0].GetProperty("id").GetString();
        Assert.StartsWith("chatcmpl-", id, StringComparison.Ordinal);
        foreach (var chunk in chunks)
        {
            AssertProperties(chunk, "id", "object", "created", "model", "system_fingerprint", "choices", "usage");
            Assert.Equal(id, chunk.GetProperty("id").GetString());
            Assert.Equal("chat.completion.chunk", chunk.GetProperty("object").GetString());
            Assert.Equal(Model, chunk.GetProperty("model").GetString());
            var created = chunk.GetProperty("created").GetInt64();
            Assert.InRange(created, DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds());
        }

        // First chunk: delta.role = assistant with empty content.
        var first = SingleChoice(chunks[0]);
        AssertProperties(first, "index", "delta", "logprobs", "finish_reason");
        Assert.Equal(0, first.GetProperty("index").GetInt32());
        Assert.Equal("assistant", first.GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal(string.Empty, first.GetProperty("delta").GetProperty("content").GetString());
        Assert.Equal(JsonValueKind.Null, first.GetProperty("logprobs").ValueKind);
        Assert.Equal(JsonValueKind.Null, first.GetProperty("finish_reason").ValueKind);
        Assert.Equal(JsonValueKind.Null, chunks[0].GetProperty("usage").ValueKind);

        // Content chunks: one token each, no role, finish_reason null.
        var expectedTokens = AnswerGenerator.GenerateTokens(Model, "Tell me about rivers", 0, 5);
        for (var i = 0; i < 5; i++)
        {
            var choice = SingleChoice(chunks[1 + i]);
            AssertProperties(choice, "index", "delta", "logprobs", "finish_reason");
            AssertProperties(choice.GetProperty("delta"), "content");
            Assert.Equal(expectedTokens[i], choice.GetProperty("delta").GetProperty("content").GetString());
            Assert.Equal(JsonValueKind.Null, choice.GetProperty("finish_reason").ValueKind);
        }

        // Final chunk: empty delta and finish_reason.
        var last = SingleChoice(chunks[6]);
        AssertProperties(last.GetProperty("delta"));
        Assert.Equal("stop", last.GetProperty("finish_reason").GetString());

        // Usage chunk: choices [] and the token counts.
        var usageChunk = chunks[7];
        Assert.Equal(0, usageChunk.GetProperty("choices").GetArrayLength());
        var usage = usageChunk.GetProperty("usage");
        var promptTokens = AnswerGenerator.CountPromptTokens(["You are terse.", "Tell me about rivers"]);
        Assert.Equal(promptTokens, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(5, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(promptTokens + 5, usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Without_include_usage_there_is_no_usage_field_and_no_usage_chunk()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/chat/completions", ChatBody("hello", stream: true), ("X-Sim-Tokens", "3"));
        var events = await response.ReadEventsAsync();

        Assert.Equal(6, events.Count); // role + 3 + finish + [DONE]
        Assert.Equal("[DONE]", events[^1]);
        foreach (var data in events.SkipLast(1))
        {
            var chunk = JsonDocument.Parse(data).RootElement;
            AssertProperties(chunk, "id", "object", "created", "model", "system_fingerprint", "choices");
            Assert.Equal(1, chunk.GetProperty("choices").GetArrayLength());
        }
    }

    [Fact]
    public async Task Each_event_is_a_single_data_line_followed_by_a_blank_line()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/chat/completions", ChatBody("raw framing", stream: true), ("X-Sim-Tokens", "4"));
        var raw = await response.Content.ReadAsStringAsync();

        var events = raw.Split("\n\n");
        Assert.Equal(string.Empty, events[^1]); // the stream ends with a complete event
        foreach (var e in events.SkipLast(1))
        {
            Assert.StartsWith("data: ", e, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', e);
        }

        Assert.Equal("data: [DONE]", events[^2]);
    }

    private static JsonElement SingleChoice(JsonElement chunk)
    {
        var choices = chunk.GetProperty("choices");
        Assert.Equal(1, choices.GetArrayLength());
        return choices[0];
    }
}
