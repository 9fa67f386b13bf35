using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using System.Text.Json;
using OpenAI.Chat;
using Worker.Simulator.Generation;

namespace Worker.Simulator.Conformance;

/// <summary>The official OpenAI .NET SDK against the simulator: what it returns for chat, streaming, n, tools and JSON.</summary>
public sealed class OpenAiSdkChatTests
{
    private const string WeatherSchema = """
        {"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["celsius","fahrenheit"]},"days":{"type":"integer","minimum":1,"maximum":5}},
         "required":["city","unit","days"],"additionalProperties":false}
        """;

    private static ChatTool Weather() => ChatTool.CreateFunctionTool("get_weather", "Weather for a city.", BinaryData.FromString(WeatherSchema), functionSchemaIsStrict: true);

    private static ChatTool Time() => ChatTool.CreateFunctionTool("get_time", "Time in a zone.", BinaryData.FromString("""{"type":"object","properties":{"zone":{"type":"string"}},"required":["zone"],"additionalProperties":false}"""));

    [Fact]
    public async Task Chat_completion_is_the_deterministic_answer_with_usage()
    {
        await using var sim = await Sdk.StartSimulatorAsync();
        ChatCompletion completion = await Sdk.Chat(sim).CompleteChatAsync([new SystemChatMessage("Be terse."), new UserChatMessage("What is a queue?")]);

        Assert.Equal(AnswerGenerator.Generate(Sdk.Model, "What is a queue?"), completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal(Sdk.Model, completion.Model);
        Assert.StartsWith("chatcmpl-", completion.Id, StringComparison.Ordinal);
        Assert.Equal(AnswerGenerator.CountPromptTokens(["Be terse.", "What is a queue?"]), completion.Usage.InputTokenCount);
        Assert.Equal(AnswerGenerator.DefaultTokenCount(Sdk.Model, "What is a queue?"), completion.Usage.OutputTokenCount);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task Max_output_tokens_cuts_with_finish_reason_length()
    {
        await using var sim = await Sdk.StartSimulatorAsync();
        ChatCompletion completion = await Sdk.Chat(sim).CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { MaxOutputTokenCount = 3 });
        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
        Assert.Equal(AnswerGenerator.Generate(Sdk.Model, "hi", tokenCount: 3), completion.Content[0].Text);
    }

    [Fact]
    public async Task Streaming_rebuilds_the_same_text_and_ends_with_usage()
    {
        await using var sim = await Sdk.StartSimulatorAsync();
        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        var updates = 0;
        await foreach (var update in Sdk.Chat(sim).CompleteChatStreamingAsync([new UserChatMessage("Stream this")]))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(AnswerGenerator.Generate(Sdk.Model, "Stream this"), text.ToString());
        Assert.True(updates > AnswerGenerator.DefaultTokenCount(Sdk.Model, "Stream this"), "one update per token");
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.NotNull(usage);
        Assert.Equal(AnswerGenerator.DefaultTokenCount(Sdk.Model, "Stream this"), usage.OutputTokenCount);
    }

    [Fact]
    public async Task N_choices_through_the_protocol_method()
    {
        await using var sim = await Sdk.StartSimulatorAsync();
        var body = BinaryContent.Create(BinaryData.FromString($$"""{"model":"{{Sdk.Model}}","n":3,"messages":[{"role":"user","content":"three ways"}]}"""));
        ClientResult result = await Sdk.Chat(sim).CompleteChatAsync(body, new RequestOptions());
        using var json = JsonDocument.Parse(result.GetRawResponse().Content);
        var choices = json.RootElement.GetProperty("choices");
        Assert.Equal(3, choices.GetArrayLength());
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(i, choices[i].GetProperty("index").GetInt32());
            Assert.Equal(AnswerGenerator.Generate(Sdk.Model, "three ways", i), choices[i].GetProperty("message").GetProperty("content").GetString());
        }
    }

    [Fact]
    public async Task Forced_function_returns_tool_calls_with_schema_valid_arguments()
    {
        await using var sim = await Sdk.StartSimulatorAsync();
        var options = new ChatCompletionOptions { Tools = { Weather(), Time() }, ToolChoice = ChatToolChoice.CreateFunctionChoice("get_weather") };
        ChatCompletion completion = await Sdk.Chat(sim).CompleteChatAsync([new UserChatMessage("hello")], options);

        Assert.Equal(ChatFinishReason.ToolCalls, completion.FinishReason);
        var call = Assert.Single(completion.ToolCalls);
        Assert.Equal(ChatToolCallKind.Function, call.Kind);
        Assert.Equal("get_weather", call.FunctionName);
        Assert.StartsWith("call_", call.Id, StringComparison.Ordinal);
        AssertWeatherArguments(call.FunctionArguments.ToString());

        // Required picks the function the user names.
        ChatCompletion required = await Sdk.Chat(sim).CompleteChatAsync([new UserChatMessage("use get_time for UTC")],
            new ChatCompletionOptions { Tools = { Weather(), Time() }, ToolChoice = ChatToolChoice.CreateRequiredChoice() });
        Assert.Equal("get_time", Assert.Single(required.ToolCalls).FunctionName);
    }

    [Fact]
    public async Task Auto_tool_choice_calls_a_named_tool_then_answers_the_tool_result_in_text()
    {
        await using var sim = await Sdk.StartSimulatorAsync();
        var chat = Sdk.Chat(sim);
        var options = new ChatCompletionOptions { Tools = { Weather(), Time() }, ToolChoice = ChatToolChoice.CreateAutoChoice() };
        List<OpenAI.Chat.ChatMessage> conversation = [new UserChatMessage("What's the weather in Oslo? Call get_weather.")];

        ChatCompletion first = await chat.CompleteChatAsync(conversation, options);
        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var call = Assert.Single(first.ToolCalls);
        Assert.Equal("get_weather", call.FunctionName);

        conversation.Add(new AssistantChatMessage(first));
        conversation.Add(new ToolChatMessage(call.Id, """{"temperature":21}"""));
        ChatCompletion second = await chat.CompleteChatAsync(conversation, options);
        Assert.Equal(ChatFinishReason.Stop, second.FinishReason);
        Assert.Empty(second.ToolCalls);
        Assert.False(string.IsNullOrEmpty(second.Content[0].Text));

        ChatCompletion plain = await chat.CompleteChatAsync([new UserChatMessage("Tell me a story.")], options);
        Assert.Equal(ChatFinishReason.Stop, plain.FinishReason);
        Assert.Equal(AnswerGenerator.Generate(Sdk.Model, "Tell me a story."), plain.Content[0].Text);
    }

    [Fact]
    public async Task Streamed_tool_call_deltas_accumulate_into_the_same_call()
    {
        await using var sim = await Sdk.StartSimulatorAsync();
        var chat = Sdk.Chat(sim);
        var options = new ChatCompletionOptions { Tools = { Weather() }, ToolChoice = ChatToolChoice.CreateRequiredChoice() };
        ChatCompletion whole = await chat.CompleteChatAsync([new UserChatMessage("weather")], options);

        string? id = null, name = null;
        var arguments = new StringBuilder();
        var argumentUpdates = 0;
        ChatFinishReason? finish = null;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("weather")], options))
        {
            foreach (var toolUpdate in update.ToolCallUpdates)
            {
                Assert.Equal(0, toolUpdate.Index);
                id ??= toolUpdate.ToolCallId;
                name ??= toolUpdate.FunctionName;
                if (toolUpdate.FunctionArgumentsUpdate is { } piece && !piece.ToMemory().IsEmpty)
                {
                    arguments.Append(piece.ToString());
                    argumentUpdates++;
                }
            }

            finish ??= update.FinishReason;
        }

        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.Equal(whole.ToolCalls[0].Id, id);
        Assert.Equal("get_weather", name);
        Assert.Equal(whole.ToolCalls[0].FunctionArguments.ToString(), arguments.ToString());
        Assert.True(argumentUpdates > 1, "arguments arrive in several deltas");
        AssertWeatherArguments(arguments.ToString());
    }

    [Fact]
    public async Task Structured_output_with_a_strict_json_schema_is_valid_json_for_it()
    {
        await using var sim = await Sdk.StartSimulatorAsync();
        var options = new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("weather_query", BinaryData.FromString(WeatherSchema), jsonSchemaIsStrict: true),
        };
        ChatCompletion completion = await Sdk.Chat(sim).CompleteChatAsync([new UserChatMessage("Give me a query")], options);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        AssertWeatherArguments(completion.Content[0].Text);

        ChatCompletion jsonObject = await Sdk.Chat(sim).CompleteChatAsync([new UserChatMessage("json please")],
            new ChatCompletionOptions { ResponseFormat = ChatResponseFormat.CreateJsonObjectFormat() });
        using var doc = JsonDocument.Parse(jsonObject.Content[0].Text);
        Assert.Equal(JsonValueKind.Object, doc.RootElement.ValueKind);
    }

    private static void AssertWeatherArguments(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal(["city", "days", "unit"], root.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(JsonValueKind.String, root.GetProperty("city").ValueKind);
        Assert.Contains(root.GetProperty("unit").GetString(), new[] { "celsius", "fahrenheit" });
        Assert.InRange(root.GetProperty("days").GetInt32(), 1, 5);
    }
}
