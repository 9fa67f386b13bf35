using System.Net;
using System.Text.Json;
using Worker.Simulator.Generation;
using Worker.Simulator.Tests.Infrastructure;
using static Worker.Simulator.Tests.Infrastructure.SimulatorHttp;

namespace Worker.Simulator.Tests.Chat;

/// <summary>The non-streaming chat.completion object, field by field.</summary>
public sealed class ChatJsonShapeTests
{
    [Fact]
    public async Task Non_streaming_answer_has_the_chat_completion_shape()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/chat/completions", ChatBody("What is a queue?"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(response.Content.Headers.ContentLength);
        var root = await response.ReadJsonAsync();

        AssertProperties(root, "id", "object", "created", "model", "choices", "usage", "service_tier", "system_fingerprint");
        Assert.StartsWith("chatcmpl-", root.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("chat.completion", root.GetProperty("object").GetString());
        Assert.True(root.GetProperty("created").GetInt64() > 1_700_000_000);
        Assert.Equal(Model, root.GetProperty("model").GetString());

        var choice = Assert.Single(root.GetProperty("choices").EnumerateArray());
        AssertProperties(choice, "index", "message", "logprobs", "finish_reason");
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("logprobs").ValueKind);
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());

        var message = choice.GetProperty("message");
        AssertProperties(message, "role", "content", "refusal", "annotations");
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        Assert.Equal(JsonValueKind.Null, message.GetProperty("refusal").ValueKind);
        var expected = AnswerGenerator.Complete(Model, "What is a queue?");
        Assert.Equal(expected.Text, message.GetProperty("content").GetString());
        Assert.InRange(expected.CompletionTokens, AnswerGenerator.MinDefaultTokens, AnswerGenerator.MaxDefaultTokens);

        var usage = root.GetProperty("usage");
        var promptTokens = AnswerGenerator.CountPromptTokens(["You are terse.", "What is a queue?"]);
        Assert.Equal(promptTokens, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(expected.CompletionTokens, usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(promptTokens + expected.CompletionTokens, usage.GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Model_is_echoed_as_sent()
    {
        // Any configured model id is served, however odd.
        await using var sim = await SimulatorServer.StartAsync(new() { Models = ["my-org/some model+ünïcode"] });
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/chat/completions", ChatBody("hi", model: "my-org/some model+ünïcode"));
        var root = await response.ReadJsonAsync();

        Assert.Equal("my-org/some model+ünïcode", root.GetProperty("model").GetString());
        Assert.Equal(
            AnswerGenerator.Generate("my-org/some model+ünïcode", "hi"),
            root.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task Ids_are_unique_per_request()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        var ids = new HashSet<string>();
        for (var i = 0; i < 5; i++)
        {
            using var response = await http.SendAsync("v1/chat/completions", ChatBody("same prompt"));
            ids.Add((await response.ReadJsonAsync()).GetProperty("id").GetString()!);
        }

        Assert.Equal(5, ids.Count);
    }
}
