using System.ClientModel;
using OpenAI.Chat;
using OpenAI.Models;

namespace Worker.Simulator.Conformance;

/// <summary>Every error status the SDK maps, as the SDK surfaces it (ClientResultException with status and body).</summary>
public sealed class OpenAiSdkErrorTests
{
    [Fact]
    public async Task Models_list_and_lookup()
    {
        await using var sim = await Sdk.StartSimulatorAsync();
        var models = Sdk.Models(sim);
        OpenAIModelCollection list = await models.GetModelsAsync();
        Assert.Contains(list, m => m.Id == Sdk.Model);
        OpenAIModel one = await models.GetModelAsync("gpt-4o");
        Assert.Equal("gpt-4o", one.Id);
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => models.GetModelAsync("gpt-unknown"));
        Assert.Equal(404, missing.Status);
    }

    [Fact]
    public async Task Invalid_parameter_is_400()
    {
        await using var sim = await Sdk.StartSimulatorAsync();
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            Sdk.Chat(sim).CompleteChatAsync([new UserChatMessage("hi")], new ChatCompletionOptions { Temperature = 3f }));
        Assert.Equal(400, error.Status);
        Assert.Contains("temperature", error.Message, StringComparison.Ordinal);
        AssertRequestId(error);
    }

    [Fact]
    public async Task Wrong_api_key_is_401_and_the_key_is_not_echoed()
    {
        await using var sim = await Sdk.StartSimulatorAsync();
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            Sdk.Chat(sim, apiKey: "sk-wrong-key-0123456789").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(401, error.Status);
        Assert.Contains("invalid_api_key", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-wrong-key-0123456789", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_model_is_404_model_not_found()
    {
        await using var sim = await Sdk.StartSimulatorAsync();
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            Sdk.Chat(sim, model: "gpt-does-not-exist").CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(404, error.Status);
        Assert.Contains("model_not_found", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rate_limit;retry_after=1", 429, "rate_limit_exceeded")]
    [InlineData("server_error", 500, "server_error")]
    [InlineData("unavailable", 503, "server_error")]
    public async Task Faults_are_the_sdk_status_errors(string fault, int status, string expected)
    {
        await using var sim = await Sdk.StartSimulatorAsync();
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            Sdk.Chat(sim, headers: ("X-Sim-Fault", fault)).CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(status, error.Status);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        AssertRequestId(error);
        if (status == 429)
        {
            Assert.True(error.GetRawResponse()!.Headers.TryGetValue("Retry-After", out var retryAfter));
            Assert.Equal("1", retryAfter);
        }
    }

    [Fact]
    public async Task The_sdk_retries_server_errors_by_its_own_policy()
    {
        await using var sim = await Sdk.StartSimulatorAsync();
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            Sdk.Chat(sim, maxRetries: 1, headers: ("X-Sim-Fault", "server_error")).CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(500, error.Status);
        Assert.Equal(2, sim.Stats.TotalRequests);
    }

    [Fact]
    public async Task The_dotnet_sdk_retries_by_status_even_when_x_should_retry_is_false()
    {
        // The Python and Node SDKs stop on x-should-retry: false (and so does our connector, see RetryHintsEndToEndTests);
        // the .NET SDK's ClientRetryPolicy decides by status only. The header still reaches it.
        await using var sim = await Sdk.StartSimulatorAsync();
        var error = await Assert.ThrowsAsync<ClientResultException>(() =>
            Sdk.Chat(sim, maxRetries: 1, headers: ("X-Sim-Fault", "unavailable;should_retry=false")).CompleteChatAsync([new UserChatMessage("hi")]));
        Assert.Equal(503, error.Status);
        Assert.True(error.GetRawResponse()!.Headers.TryGetValue("x-should-retry", out var shouldRetry));
        Assert.Equal("false", shouldRetry);
        Assert.Equal(2, sim.Stats.TotalRequests);
    }

    [Fact]
    public async Task A_dropped_stream_is_an_error_not_a_short_answer()
    {
        await using var sim = await Sdk.StartSimulatorAsync();
        var chat = Sdk.Chat(sim, headers: [("X-Sim-Fault", "drop;after=2"), ("X-Sim-Tokens", "8")]);
        var received = 0;
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
            {
                received += update.ContentUpdate.Count;
            }
        });
        // Never the whole answer (8 tokens). How much arrives first depends on timing: a reset may discard chunks
        // the client had not read yet.
        Assert.InRange(received, 0, 7);
    }

    private static void AssertRequestId(ClientResultException error)
    {
        Assert.True(error.GetRawResponse()!.Headers.TryGetValue("x-request-id", out var id));
        Assert.StartsWith("req_", id, StringComparison.Ordinal);
    }
}
