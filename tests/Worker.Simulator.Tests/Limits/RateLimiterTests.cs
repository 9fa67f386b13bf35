using Microsoft.Extensions.Time.Testing;
using Worker.Simulator.Limits;
using Worker.Simulator.Options;
using MsOptions = Microsoft.Extensions.Options.Options;

namespace Worker.Simulator.Tests.Limits;

/// <summary>The limiter on a fake clock: per-key buckets, all-or-nothing charging, refusals and retry hints.</summary>
public sealed class RateLimiterTests
{
    private readonly FakeTimeProvider _time = new();

    [Fact]
    public void Requests_over_the_limit_are_refused_until_the_bucket_refills()
    {
        var limiter = Create(new() { RequestsPerMinute = 60, BurstSeconds = 2 }); // 1/s, holds 2

        Assert.True(limiter.Admit("k", Charge()).Admitted);
        var second = limiter.Admit("k", Charge());
        var third = limiter.Admit("k", Charge());

        Assert.True(second.Admitted);
        Assert.Equal(new BucketState(60, 0, TimeSpan.FromSeconds(2)), second.Requests);
        Assert.Null(second.Tokens);
        Assert.Equal(new RateLimitRefusal(RateLimitType.Requests, 60, 2, 1, TimeSpan.FromSeconds(1)), third.Refusal);

        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(limiter.Admit("k", Charge()).Admitted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(limiter.Admit("k", Charge()).Admitted);
    }

    [Fact]
    public void Each_key_has_its_own_buckets_and_no_key_is_one_anonymous_key()
    {
        var limiter = Create(new() { RequestsPerMinute = 1 });

        Assert.True(limiter.Admit("a", Charge()).Admitted);
        Assert.False(limiter.Admit("a", Charge()).Admitted);
        Assert.True(limiter.Admit("b", Charge()).Admitted);
        Assert.True(limiter.Admit(RateLimitKey.Anonymous, Charge()).Admitted);
        Assert.False(limiter.Admit(RateLimitKey.Anonymous, Charge()).Admitted);
    }

    [Fact]
    public void Tokens_are_charged_as_prompt_estimate_plus_max_tokens_and_a_refusal_charges_nothing()
    {
        var limiter = Create(new() { RequestsPerMinute = 100, TokensPerMinute = 100 });

        var first = limiter.Admit("k", Charge(chars: 40, maxTokens: 50)); // 10 + 50
        var refused = limiter.Admit("k", Charge(chars: 40, maxTokens: 50));

        Assert.Equal(60, first.TokensCharged);
        Assert.Equal(40, first.Tokens!.Value.Remaining);
        Assert.Equal(99, first.Requests!.Value.Remaining);
        Assert.Equal(new RateLimitRefusal(RateLimitType.Tokens, 100, 60, 60, TimeSpan.FromSeconds(12)), refused.Refusal);
        Assert.Equal(0, refused.TokensCharged);
        Assert.Equal(99, refused.Requests!.Value.Remaining); // the request bucket was not charged either
        Assert.Equal(40, refused.Tokens!.Value.Remaining);
    }

    [Fact]
    public void Default_max_tokens_is_charged_when_the_request_gives_none()
    {
        var limiter = Create(new() { TokensPerMinute = 1000, DefaultMaxTokens = 256 });

        Assert.Equal(257, limiter.Admit("k", Charge(chars: 3)).TokensCharged);
    }

    [Fact]
    public void A_request_larger_than_the_bucket_is_refused_without_a_retry_hint()
    {
        var limiter = Create(new() { TokensPerMinute = 600, BurstSeconds = 1 }); // holds 10

        var decision = limiter.Admit("k", Charge(maxTokens: 11));

        Assert.Equal(RateLimitType.Tokens, decision.Refusal!.Value.Type);
        Assert.Null(decision.Refusal.Value.RetryAfter);
        Assert.False(decision.SendRetryAfter);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    public void Retry_hints_follow_a_certain_probability(double probability)
    {
        var limiter = Create(new() { RequestsPerMinute = 1, RetryAfterProbability = probability });
        limiter.Admit("k", Charge());

        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(probability == 1.0, limiter.Admit("k", Charge()).SendRetryAfter);
        }
    }

    [Fact]
    public void Retry_hints_are_drawn_repeatably_from_the_seed()
    {
        static List<bool> Draws(FakeTimeProvider time)
        {
            var limiter = Create(new() { RequestsPerMinute = 1, RetryAfterProbability = 0.5, Seed = 42 }, time);
            limiter.Admit("k", Charge());
            return [.. Enumerable.Range(0, 200).Select(_ => limiter.Admit("k", Charge()).SendRetryAfter)];
        }

        var first = Draws(new FakeTimeProvider());

        Assert.Equal(first, Draws(new FakeTimeProvider()));
        Assert.InRange(first.Count(sent => sent), 60, 140);
    }

    private RateLimiter Create(RateLimitOptions limits) => Create(limits, _time);

    private static RateLimiter Create(RateLimitOptions limits, TimeProvider time) =>
        new(MsOptions.Create(new SimulatorOptions { RateLimits = limits }), time);

    private static RequestCharge Charge(long chars = 0, int? maxTokens = null) => new("gpt-4o-mini", chars, maxTokens);
}
