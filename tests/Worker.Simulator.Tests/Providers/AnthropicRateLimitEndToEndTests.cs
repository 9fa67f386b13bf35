using Worker.Connector;
using Worker.Connector.Anthropic;
using Worker.Connector.OpenAi;

namespace Worker.Simulator.Tests.Providers;

/// <summary>The simulator's anthropic-ratelimit-* headers reach the client's RateLimit snapshot through a real runtime.</summary>
public sealed class AnthropicRateLimitEndToEndTests
{
    [Fact]
    public async Task Headers_become_a_snapshot_and_the_429_names_the_empty_bucket()
    {
        await using var stack = await ProviderStack.StartAsync(o =>
        {
            o.RateLimits.RequestsPerMinute = 60;
            o.RateLimits.BurstSeconds = 1;
        });
        var client = new AnthropicMessagesClient(stack.Client, new AnthropicOptions { BaseUrl = stack.BaseUrl("v1"), ApiKey = ProviderStack.ApiKey });
        var request = new ChatCompletionRequest { Messages = [ChatMessage.User("hi")], Stream = false };

        var completion = await client.CompleteAsync(request);
        var error = await Assert.ThrowsAsync<ConnectorException>(() => client.CompleteAsync(request));

        Assert.Equal(60, completion.RateLimit?.LimitRequests);
        Assert.Equal(0, completion.RateLimit?.RemainingRequests);
        Assert.InRange(completion.RateLimit!.ResetRequests!.Value, TimeSpan.Zero, TimeSpan.FromSeconds(3));
        Assert.Equal(ErrorClass.RateLimited, error.ErrorClass);
        Assert.Equal("requests", error.RateLimit?.LimitedBy);
        Assert.NotNull(error.RetryAfter);
    }
}
