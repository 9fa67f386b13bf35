using Worker.Connector;
using Worker.Connector.Gemini;
using Worker.Connector.OpenAi;
using Worker.Simulator.Generation;

namespace Worker.Simulator.Tests.Providers;

/// <summary>GeminiClient → real runtime → the simulator's generateContent / streamGenerateContent?alt=sse.</summary>
public sealed class GeminiClientEndToEndTests : IAsyncLifetime
{
    private const string Model = "gemini-2.0-flash";
    private const string Prompt = "Tell me about the sea";
    private ProviderStack _stack = null!;

    public async Task InitializeAsync() => _stack = await ProviderStack.StartAsync();

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    private GeminiClient Client(string apiKey = ProviderStack.ApiKey) =>
        new(_stack.Client, new GeminiOptions { BaseUrl = _stack.BaseUrl("v1beta"), ApiKey = apiKey, Model = Model });

    private static ChatCompletionRequest Request(bool stream, int? maxTokens = null, string? fault = null, int? tokens = null)
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
            Temperature = 0.2,
            ExtraHeaders = headers,
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
        Assert.Equal("gemini", completion.Provider);
        Assert.Equal(Model, completion.Model);
        Assert.Equal("stop", completion.FinishReason);
        Assert.Equal("STOP", completion.ProviderFinishReason);
        Assert.Equal(new ChatUsage(5, expected.CompletionTokens, 5 + expected.CompletionTokens), completion.Usage); // contents only
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Max_output_tokens_maps_to_length(bool stream)
    {
        var completion = await Client().CompleteAsync(Request(stream, maxTokens: 4, tokens: 10));

        Assert.Equal(AnswerGenerator.Generate(Model, Prompt, 0, 4), completion.Content);
        Assert.Equal("length", completion.FinishReason);
        Assert.Equal("MAX_TOKENS", completion.ProviderFinishReason);
        Assert.Equal(4, completion.Usage!.CompletionTokens);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Resource_exhausted_is_RateLimited_with_retry_after(bool stream)
    {
        var error = await Assert.ThrowsAsync<ConnectorException>(() => Client().CompleteAsync(Request(stream, fault: "rate_limit;retry_after=2")));

        Assert.Equal(ErrorClass.RateLimited, error.ErrorClass);
        Assert.Equal(429, error.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), error.RetryAfter);
    }

    [Theory]
    [InlineData("unavailable", 503)]
    [InlineData("server_error", 500)]
    public async Task Unavailable_and_internal_are_Transient(string fault, int status)
    {
        var error = await Assert.ThrowsAsync<ConnectorException>(() => Client().CompleteAsync(Request(stream: false, fault: fault)));

        Assert.Equal(ErrorClass.Transient, error.ErrorClass);
        Assert.Equal(status, error.StatusCode);
    }

    [Fact]
    public async Task An_error_element_mid_stream_is_Transient()
    {
        var error = await Assert.ThrowsAsync<ConnectorException>(() => Client().CompleteAsync(Request(stream: true, fault: "error_event;after=2", tokens: 5)));

        Assert.Equal(ErrorClass.Transient, error.ErrorClass);
        Assert.Contains("INTERNAL", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_argument_is_InvalidRequest()
    {
        var error = await Assert.ThrowsAsync<ConnectorException>(() => Client().CompleteAsync(Request(stream: false, maxTokens: 0)));

        Assert.Equal(ErrorClass.InvalidRequest, error.ErrorClass);
        Assert.Equal(400, error.StatusCode);
    }

    [Fact]
    public async Task A_refused_key_is_Permanent_and_never_appears_in_the_message()
    {
        const string WrongKey = "AIzaSyWRONGKEYWRONGKEYWRONGKEY";
        var error = await Assert.ThrowsAsync<ConnectorException>(() => Client(WrongKey).CompleteAsync(Request(stream: true)));

        Assert.Equal(ErrorClass.Permanent, error.ErrorClass);
        Assert.DoesNotContain("WRONGKEY", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_key_goes_in_a_header_never_in_the_URL()
    {
        var request = Client().BuildRequest(Request(stream: true));

        Assert.Equal(ProviderStack.ApiKey, request.Headers["x-goog-api-key"]);
        Assert.DoesNotContain(ProviderStack.ApiKey, request.Url, StringComparison.Ordinal);
        Assert.EndsWith($"/models/{Model}:streamGenerateContent?alt=sse", request.Url, StringComparison.Ordinal);
    }
}
