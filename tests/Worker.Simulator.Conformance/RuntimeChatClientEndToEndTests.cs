using System.ComponentModel;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Worker.Connector;
using Worker.Connector.Ai;
using Worker.Connector.Client;
using Worker.Connector.OpenAi;
using Worker.Runtime.Configuration;
using Worker.Runtime.Server;
using Worker.Simulator.Generation;
using ChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Worker.Simulator.Conformance;

/// <summary>IChatClient → RuntimeClient → a real connector runtime (in-process, Unix socket) → a real simulator.</summary>
public sealed class RuntimeChatClientEndToEndTests : IAsyncLifetime
{
    private const string Model = "gpt-4o-mini";
    private SimulatorServer? _simulator;
    private RuntimeServer? _runtime;
    private RuntimeClient? _client;
    private string? _socketPath;

    private IChatClient Chat => new RuntimeChatClient(_client!, new OpenAiOptions
    {
        BaseUrl = new Uri(_simulator!.BaseAddress, "v1").ToString(),
        ApiKey = Sdk.ApiKey,
        Model = Model,
    });

    public async Task InitializeAsync()
    {
        _simulator = await SimulatorServer.StartAsync(new Options.SimulatorOptions { ApiKey = Sdk.ApiKey });
        _socketPath = Path.Combine(Path.GetTempPath(), $"wcf-{Guid.NewGuid():N}"[..16] + ".sock");
        _runtime = new RuntimeServer(new RuntimeServerOptions { SocketPath = _socketPath });
        await _runtime.StartAsync(CancellationToken.None);
        _client = new RuntimeClient(new RuntimeClientOptions { SocketPath = _socketPath, UseTcp = false, DefaultTimeout = TimeSpan.FromSeconds(30) });
    }

    public async Task DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        if (_runtime is not null)
        {
            await _runtime.DisposeAsync();
        }

        if (_simulator is not null)
        {
            await _simulator.DisposeAsync();
        }
    }

    [Fact]
    public async Task Text_answer_with_usage_and_finish_reason()
    {
        var response = await Chat.GetResponseAsync([new ChatMessage(ChatRole.System, "Be terse."), new ChatMessage(ChatRole.User, "What is a queue?")]);
        Assert.Equal(AnswerGenerator.Generate(Model, "What is a queue?"), response.Text);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(Model, response.ModelId);
        Assert.Equal(AnswerGenerator.DefaultTokenCount(Model, "What is a queue?"), (int)response.Usage!.OutputTokenCount!);
        Assert.StartsWith("chatcmpl-", response.ResponseId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Streaming_yields_the_same_text_and_usage()
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in Chat.GetStreamingResponseAsync("Stream this", new ChatOptions { MaxOutputTokens = 5 }))
        {
            updates.Add(update);
        }

        var response = updates.ToChatResponse();
        Assert.Equal(AnswerGenerator.Generate(Model, "Stream this", tokenCount: 5), response.Text);
        Assert.Equal(ChatFinishReason.Length, response.FinishReason);
        Assert.Equal(5, (int)response.Usage!.OutputTokenCount!);
    }

    [Fact]
    public async Task Forced_tool_gives_function_call_content_with_schema_arguments()
    {
        var weather = AIFunctionFactory.Create(GetWeather);
        var response = await Chat.GetResponseAsync("hello", new ChatOptions { Tools = [weather], ToolMode = ChatToolMode.RequireSpecific(weather.Name) });

        Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
        var call = Assert.Single(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Equal(weather.Name, call.Name);
        Assert.StartsWith("call_", call.CallId, StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.String, ((JsonElement)call.Arguments!["city"]!).ValueKind);
        Assert.Equal(JsonValueKind.Number, ((JsonElement)call.Arguments!["days"]!).ValueKind);
    }

    [Fact]
    public async Task Streamed_tool_call_and_a_whole_function_invoking_loop()
    {
        var invoked = new List<string>();
        var weather = AIFunctionFactory.Create((string city, int days) =>
        {
            invoked.Add(city);
            return $"sunny in {city} for {days} days";
        }, "get_weather", "Weather for a city.");

        var streamed = new List<ChatResponseUpdate>();
        await foreach (var update in Chat.GetStreamingResponseAsync("call get_weather please", new ChatOptions { Tools = [weather] }))
        {
            streamed.Add(update);
        }

        Assert.Equal(ChatFinishReason.ToolCalls, streamed.ToChatResponse().FinishReason);
        Assert.Single(streamed.SelectMany(u => u.Contents).OfType<FunctionCallContent>());

        // Middleware from Microsoft.Extensions.AI runs on top: it calls the function and sends the result back;
        // the simulator then answers in text (auto after a tool result).
        using var withTools = new ChatClientBuilder(Chat).UseFunctionInvocation().Build();
        var response = await withTools.GetResponseAsync("call get_weather please", new ChatOptions { Tools = [weather] });
        Assert.Single(invoked);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        Assert.False(string.IsNullOrEmpty(response.Text));
        Assert.Contains(response.Messages, m => m.Contents.OfType<FunctionResultContent>().Any());
    }

    [Fact]
    public async Task Json_schema_response_format_is_honoured()
    {
        var response = await Chat.GetResponseAsync<WeatherQuery>("a query please");
        Assert.True(response.TryGetResult(out var query), response.Text);
        Assert.False(string.IsNullOrEmpty(query!.City));
    }

    [Fact]
    public async Task Upstream_errors_are_classified_connector_exceptions()
    {
        var error = await Assert.ThrowsAsync<ConnectorException>(() => Chat.GetResponseAsync("hi", new ChatOptions { ModelId = "gpt-nope" }));
        Assert.Equal(404, error.StatusCode);
        Assert.Equal(ErrorClass.InvalidRequest, error.ErrorClass);
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);

        var invalid = await Assert.ThrowsAsync<ConnectorException>(() => Chat.GetResponseAsync("hi", new ChatOptions { Temperature = 5 }));
        Assert.Equal(400, invalid.StatusCode);
    }

    [Description("Weather for a city.")]
    private static string GetWeather(string city, int days) => $"{city}:{days}";

    private sealed record WeatherQuery(string City, int Days);
}
