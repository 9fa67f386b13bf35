using System.Text.Json;
using System.Text.Json.Nodes;
using Worker.Simulator.Generation;
using Worker.Simulator.Tests.Infrastructure;
using static Worker.Simulator.Tests.Infrastructure.SimulatorHttp;

namespace Worker.Simulator.Tests.Chat;

/// <summary>What is answered: deterministic text, equal streamed and not, length controls, n choices.</summary>
public sealed class ChatAnswerTests
{
    [Theory]
    [InlineData("Explain backpressure in two sentences.")]
    [InlineData("")]
    [InlineData("Ünïcödé, \"quotes\" and \\ backslashes\nand new lines")]
    public async Task Streamed_text_equals_non_streamed_text_equals_AnswerGenerator(string prompt)
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var plain = await http.SendAsync("v1/chat/completions", ChatBody(prompt));
        var plainText = (await plain.ReadJsonAsync()).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();

        using var streamed = await http.SendAsync("v1/chat/completions", ChatBody(prompt, stream: true));
        var events = await streamed.ReadEventsAsync();
        var streamedText = AccumulateContent(events);

        var expected = AnswerGenerator.Generate(Model, prompt);
        Assert.Equal(expected, plainText);
        Assert.Equal(expected, streamedText);

        // One content chunk per token.
        var contentChunks = events.Count - 3; // role, finish, [DONE]
        Assert.Equal(AnswerGenerator.DefaultTokenCount(Model, prompt), contentChunks);
        Assert.Equal(AnswerGenerator.Tokenize(expected).Count, contentChunks);
    }

    [Fact]
    public async Task Same_request_gives_the_same_answer_on_two_separate_servers()
    {
        await using var first = await SimulatorServer.StartAsync();
        await using var second = await SimulatorServer.StartAsync();
        using var http1 = first.CreateClient();
        using var http2 = second.CreateClient();

        var body = ChatBody("determinism across processes", extra: b => b["n"] = 2);
        using var a = await http1.SendAsync("v1/chat/completions", body);
        using var b = await http2.SendAsync("v1/chat/completions", body);
        var choicesA = (await a.ReadJsonAsync()).GetProperty("choices");
        var choicesB = (await b.ReadJsonAsync()).GetProperty("choices");

        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(
                choicesA[i].GetProperty("message").GetProperty("content").GetString(),
                choicesB[i].GetProperty("message").GetProperty("content").GetString());
        }
    }

    [Fact]
    public async Task Different_prompts_and_models_give_different_answers()
    {
        Assert.NotEqual(AnswerGenerator.Generate(Model, "one"), AnswerGenerator.Generate(Model, "two"));
        Assert.NotEqual(AnswerGenerator.Generate("model-a", "one"), AnswerGenerator.Generate("model-b", "one"));

        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();
        using var response = await http.SendAsync("v1/chat/completions", ChatBody("two"));
        Assert.Equal(
            AnswerGenerator.Generate(Model, "two"),
            (await response.ReadJsonAsync()).GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task N_choices_are_deterministic_distinct_and_indexed()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/chat/completions", ChatBody("pick three", extra: b => b["n"] = 3));
        var root = await response.ReadJsonAsync();
        var choices = root.GetProperty("choices");

        Assert.Equal(3, choices.GetArrayLength());
        var texts = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(i, choices[i].GetProperty("index").GetInt32());
            var text = choices[i].GetProperty("message").GetProperty("content").GetString()!;
            Assert.Equal(AnswerGenerator.Generate(Model, "pick three", i), text);
            texts.Add(text);
        }

        Assert.Equal(3, texts.Distinct().Count());
        var perChoice = AnswerGenerator.DefaultTokenCount(Model, "pick three");
        Assert.Equal(3 * perChoice, root.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task N_choices_stream_with_one_role_and_finish_chunk_per_choice()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync(
            "v1/chat/completions",
            ChatBody("stream three", stream: true, extra: b => b["n"] = 3),
            ("X-Sim-Tokens", "4"));
        var events = await response.ReadEventsAsync();

        Assert.Equal((3 * (1 + 4 + 1)) + 1, events.Count);
        var choices = events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices")[0]).ToList();
        Assert.Equal(3, choices.Count(c => c.GetProperty("delta").TryGetProperty("role", out _)));
        Assert.Equal(3, choices.Count(c => c.GetProperty("finish_reason").ValueKind == JsonValueKind.String));
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(AnswerGenerator.Generate(Model, "stream three", i, 4), AccumulateContent(events, i));
        }
    }

    [Theory]
    [InlineData("max_tokens")]
    [InlineData("max_completion_tokens")]
    public async Task Max_tokens_cuts_the_answer_with_finish_reason_length(string field)
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var plain = await http.SendAsync("v1/chat/completions", ChatBody("long answer please", extra: b => b[field] = 5), ("X-Sim-Tokens", "20"));
        var root = await plain.ReadJsonAsync();
        var choice = root.GetProperty("choices")[0];
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(5, root.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        var expected = AnswerGenerator.Complete(Model, "long answer please", requestedTokens: 20, maxTokens: 5);
        Assert.Equal(new SimulatedCompletion(AnswerGenerator.Generate(Model, "long answer please", 0, 5), 5, "length"), expected);
        Assert.Equal(expected.Text, choice.GetProperty("message").GetProperty("content").GetString());

        // The cut answer is a prefix of the full one.
        Assert.StartsWith(expected.Text, AnswerGenerator.Generate(Model, "long answer please", 0, 20), StringComparison.Ordinal);

        using var streamed = await http.SendAsync("v1/chat/completions", ChatBody("long answer please", stream: true, extra: b => b[field] = 5), ("X-Sim-Tokens", "20"));
        var events = await streamed.ReadEventsAsync();
        Assert.Equal(1 + 5 + 1 + 1, events.Count);
        Assert.Equal(expected.Text, AccumulateContent(events));
        Assert.Equal("length", JsonDocument.Parse(events[^2]).RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Max_tokens_larger_than_the_answer_keeps_finish_reason_stop()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/chat/completions", ChatBody("short", extra: b => b["max_tokens"] = 500), ("X-Sim-Tokens", "7"));
        var root = await response.ReadJsonAsync();

        Assert.Equal("stop", root.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(7, root.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(73)]
    public async Task X_Sim_Tokens_header_sets_the_exact_length(int tokens)
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/chat/completions", ChatBody("length control"), ("X-Sim-Tokens", tokens.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        var root = await response.ReadJsonAsync();

        Assert.Equal(tokens, root.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        var text = root.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        Assert.Equal(AnswerGenerator.Generate(Model, "length control", 0, tokens), text);
        Assert.Equal(tokens, AnswerGenerator.Tokenize(text).Count);
        Assert.Equal(tokens, AnswerGenerator.CountWords(text));
    }

    [Fact]
    public async Task Sim_tokens_body_field_sets_the_length_and_the_header_wins_over_it()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var body = await http.SendAsync("v1/chat/completions", ChatBody("field", extra: b => b["sim_tokens"] = 9));
        Assert.Equal(9, (await body.ReadJsonAsync()).GetProperty("usage").GetProperty("completion_tokens").GetInt32());

        using var both = await http.SendAsync("v1/chat/completions", ChatBody("field", extra: b => b["sim_tokens"] = 9), ("X-Sim-Tokens", "3"));
        Assert.Equal(3, (await both.ReadJsonAsync()).GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Prompt_is_the_last_user_message_and_content_parts_are_joined_with_new_lines()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        var body = new JsonObject
        {
            ["model"] = Model,
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "user", ["content"] = "an earlier question" },
                new JsonObject { ["role"] = "assistant", ["content"] = "an earlier answer" },
                new JsonObject
                {
                    ["role"] = "user",
                    ["content"] = new JsonArray(
                        new JsonObject { ["type"] = "text", ["text"] = "first part" },
                        new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = "https://example.invalid/x.png" } },
                        new JsonObject { ["text"] = "second part", ["type"] = "text" }),
                },
                new JsonObject { ["role"] = "tool", ["content"] = "tool output", ["tool_call_id"] = "call_1" }),
        }.ToJsonString();

        using var response = await http.SendAsync("v1/chat/completions", body);
        var root = await response.ReadJsonAsync();

        var prompt = AnswerGenerator.JoinParts(["first part", "second part"]);
        Assert.Equal("first part\nsecond part", prompt);
        Assert.Equal(AnswerGenerator.Generate(Model, prompt), root.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(
            AnswerGenerator.CountPromptTokens(["an earlier question", "an earlier answer", prompt, "tool output"]),
            root.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
    }
}
