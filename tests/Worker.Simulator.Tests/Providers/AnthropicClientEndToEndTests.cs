using System.Text.Json;
using Worker.Connector;
using Worker.Connector.Anthropic;
using Worker.Connector.OpenAi;
using Worker.Simulator.Generation;

namespace Worker.Simulator.Tests.Providers;

/// <summary>AnthropicMessagesClient → real runtime → the simulator's /v1/messages, streamed and not.</summary>
public sealed class AnthropicClientEndToEndTests : IAsyncLifetime
{
    private const string Model = "claude-sonnet-4-5";
    private const string Prompt = "Tell me about the sea";
    private ProviderStack _stack = null!;

    public async Task InitializeAsync() => _stack = await ProviderStack.StartAsync();

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    private AnthropicMessagesClient Client(string apiKey = ProviderStack.ApiKey) =>
        new(_stack.Client, new AnthropicOptions { BaseUrl = _stack.BaseUrl("v1"), ApiKey = apiKey, Model = Model });

    private static ChatCompletionRequest Request(bool stream, int? maxTokens = null, string? fault = null, int? tokens = null, double? temperature = null)
    {
        var headers = new Dictionary<string, string>();
        if (fault is not null)
        {
            headers["X-Sim-Fault"] = fault;
        }

        if (tokens is not null)
        {
            headers["X-Sim-Tokens"] = tokens.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return new ChatCompletionRequest
        {
            Messages = [ChatMessage.System("You are terse."), ChatMessage.User(Prompt)],
            Stream = stream,
            MaxTokens = maxTokens,
            Temperature = temperature,
            ExtraHeaders = headers,
            ExtraParameters = new Dictionary<string, JsonElement> { ["stop"] = JsonSerializer.SerializeToElement(new[] { "\n\nHuman:" }) },
        };
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Answer_is_the_deterministic_text_with_usage_and_mapped_finish_reason(bool stream)
    {
        var completion = await Client().CompleteAsync(Request(stream));

        var expected = AnswerGenerator.Complete(Model, Prompt);
        Assert.Equal(expected.Text, completion.Content);
        Assert.Equal(stream, completion.Streamed);
        Assert.Equal("anthropic", completion.Provider);
        Assert.Equal(Model, completion.Model);
        Assert.StartsWith("msg_", completion.Id, StringComparison.Ordinal);
        Assert.Equal("stop", completion.FinishReason);
        Assert.Equal("end_turn", completion.ProviderFinishReason);
        Assert.Equal(new ChatUsage(8, expected.CompletionTokens, 8 + expected.CompletionTokens), completion.Usage); // 3 system + 5 user words
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Max_tokens_maps_to_length(bool stream)
    {
        var completion = await Client().CompleteAsync(Request(stream, maxTokens: 3, tokens: 10));

        Assert.Equal(AnswerGenerator.Generate(Model, Prompt, 0, 3), completion.Content);
        Assert.Equal("length", completion.FinishReason);
        Assert.Equal("max_tokens", completion.ProviderFinishReason);
        Assert.Equal(3, completion.Usage!.CompletionTokens);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Rate_limit_is_RateLimited_with_retry_after(bool stream)
    {
        var error = await Assert.ThrowsAsync<ConnectorException>(() => Client().CompleteAsync(Request(stream, fault: "rate_limit;retry_after=3")));

        Assert.Equal(ErrorClass.RateLimited, error.ErrorClass);
        Assert.Equal(429, error.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), error.RetryAfter);
        Assert.Contains("rate limit", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Overloaded_529_is_Transient()
    {
        var error = await Assert.ThrowsAsync<ConnectorException>(() => Client().CompleteAsync(Request(stream: true, fault: "unavailable")));

        Assert.Equal(ErrorClass.Transient, error.ErrorClass);
        Assert.Equal(529, error.StatusCode);
        Assert.True(error.IsRetryable);
    }

    [Fact]
    public async Task An_overloaded_error_event_mid_stream_is_Transient()
    {
        var error = await Assert.ThrowsAsync<ConnectorException>(() => Client().CompleteAsync(Request(stream: true, fault: "error_event;after=2", tokens: 5)));

        Assert.Equal(ErrorClass.Transient, error.ErrorClass);
        Assert.Contains("overloaded_error", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_stream_is_Transient()
    {
        var error = await Assert.ThrowsAsync<ConnectorException>(() => Client().CompleteAsync(Request(stream: true, fault: "malformed;after=1", tokens: 3)));

        Assert.Equal(ErrorClass.Transient, error.ErrorClass);
    }

    [Fact]
    public async Task Invalid_request_400_is_InvalidRequest_with_Anthropic_s_message()
    {
        var error = await Assert.ThrowsAsync<ConnectorException>(() => Client().CompleteAsync(Request(stream: false, temperature: 1.5)));

        Assert.Equal(ErrorClass.InvalidRequest, error.ErrorClass);
        Assert.Equal(400, error.StatusCode);
        Assert.Contains("temperature", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_key_is_Permanent_and_never_appears_in_the_message()
    {
        const string WrongKey = "sk-ant-api03-WRONGKEYWRONGKEYWRONGKEY";
        var error = await Assert.ThrowsAsync<ConnectorException>(() => Client(WrongKey).CompleteAsync(Request(stream: false)));

        Assert.Equal(ErrorClass.Permanent, error.ErrorClass);
        Assert.Equal(401, error.StatusCode);
        Assert.Contains("ANTHROPIC_API_KEY", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("WRONGKEY", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_configured_key_never_appears_in_any_error_message()
    {
        foreach (var fault in new[] { "rate_limit", "unavailable", "server_error", "error_event", "malformed" })
        {
            var error = await Assert.ThrowsAsync<ConnectorException>(() => Client().CompleteAsync(Request(stream: true, fault: fault, tokens: 4)));
            Assert.DoesNotContain(ProviderStack.ApiKey[..12], error.Message, StringComparison.Ordinal);
        }
    }
}
