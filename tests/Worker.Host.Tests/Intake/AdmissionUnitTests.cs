using System.Text.Json;
using Worker.Connector.OpenAi;
using Worker.Host.Intake;
using Worker.Host.Publishing;

namespace Worker.Host.Tests.Intake;

/// <summary>Token estimates, tenant budgets and delay tiers: the pure parts of admission.</summary>
public sealed class AdmissionUnitTests
{
    private static ChatCompletionRequest Request(string text, int? maxTokens = null, string? extra = null) => new()
    {
        Messages = [new ChatMessage("user", text)],
        MaxTokens = maxTokens,
        ExtraParameters = extra is null ? null : JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(extra),
    };

    [Theory]
    [InlineData("gpt-4o-mini")]
    [InlineData("gpt-3.5-turbo")]
    [InlineData("llama-3-70b")]
    public void Prompt_tokens_are_counted_with_the_models_encoding_plus_chat_formatting(string model)
    {
        // "Hello world" is two tokens in both cl100k and o200k; each message adds 3, the reply priming 3.
        Assert.Equal(2 + 3 + 3, new TokenEstimator(256).CountPrompt(Request("Hello world"), model));
    }

    [Fact]
    public void Output_tokens_are_max_tokens_or_max_completion_tokens_or_the_default()
    {
        var estimator = new TokenEstimator(256);
        Assert.Equal(100, estimator.MaxOutput(Request("x", maxTokens: 100)));
        Assert.Equal(70, estimator.MaxOutput(Request("x", extra: """{"max_completion_tokens":70}""")));
        Assert.Equal(256, estimator.MaxOutput(Request("x")));
    }

    [Fact]
    public void A_huge_prompt_is_estimated_without_tokenizing_all_of_it()
    {
        var text = new string('a', 2 * 1024 * 1024);
        var count = new TokenEstimator(1).CountPrompt(Request(text), "gpt-4o");
        Assert.InRange(count, 2 * 1024 * 1024 / 8, 2 * 1024 * 1024);
    }

    [Fact]
    public void A_tenant_over_its_budget_waits_and_queued_waits_are_spread_out()
    {
        var budgets = new TenantBudgets([new("acme", 600)], TimeSpan.Zero); // 10 tokens/s, a minute's burst of 600
        Assert.Equal(TimeSpan.Zero, budgets.TryTake("acme", 600, TimeSpan.Zero));
        var first = budgets.TryTake("acme", 100, TimeSpan.Zero);
        var second = budgets.TryTake("acme", 100, TimeSpan.Zero);
        Assert.Equal(TimeSpan.FromSeconds(10), first);
        Assert.Equal(TimeSpan.FromSeconds(20), second);
        // Other tenants are not limited, and a correction with the real usage gives budget back.
        Assert.Equal(TimeSpan.Zero, budgets.TryTake("other", 1_000_000, TimeSpan.Zero));
        budgets.Adjust("acme", -100);
        Assert.Equal(TimeSpan.Zero, budgets.TryTake("acme", 50, TimeSpan.FromSeconds(25)));
    }

    [Theory]
    [InlineData(0.1, 1)]
    [InlineData(1, 1)]
    [InlineData(4.9, 1)]
    [InlineData(5, 5)]
    [InlineData(45, 30)]
    [InlineData(3600, 600)]
    public void A_wait_takes_the_longest_delay_tier_not_longer_than_it(double seconds, int tier) =>
        Assert.Equal(tier, DelayQueues.TierFor(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void The_attempts_header_is_read_defensively()
    {
        Assert.Equal(3, DelayQueues.ReadAttempts(new Dictionary<string, object?> { [DelayQueues.AttemptsHeader] = 3 }));
        Assert.Equal(7, DelayQueues.ReadAttempts(new Dictionary<string, object?> { [DelayQueues.AttemptsHeader] = "7"u8.ToArray() }));
        Assert.Equal(0, DelayQueues.ReadAttempts(new Dictionary<string, object?> { [DelayQueues.AttemptsHeader] = -1 }));
        Assert.Equal(0, DelayQueues.ReadAttempts(new Dictionary<string, object?> { [DelayQueues.AttemptsHeader] = 1_000_000L }));
        Assert.Equal(0, DelayQueues.ReadAttempts(new Dictionary<string, object?> { [DelayQueues.AttemptsHeader] = "lots"u8.ToArray() }));
        Assert.Equal(0, DelayQueues.ReadAttempts(null));
        Assert.Equal("llm.jobs.delay.30s", DelayQueues.Name("llm.jobs", 30));
    }
}
