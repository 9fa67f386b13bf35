using Worker.Connector.Http;
using Worker.Host.Intake;

namespace Worker.Host.Tests.Intake;

/// <summary>The pacing decisions on their own (pure, no clock): one worker, several sharing a key, no headers at all.</summary>
public sealed class AdmissionPacingTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Workers_sharing_a_key_converge_to_the_request_limit_with_few_429s(int workers)
    {
        var sim = new PacingSimulation { Workers = workers, Concurrency = 32, RequestsPerMinute = 6000, BurstSeconds = 1 };
        var duration = TimeSpan.FromSeconds(30);
        sim.Run(duration);
        var efficiency = sim.Succeeded / sim.Allowed(duration);
        var limitedShare = (double)sim.RateLimited / (sim.Succeeded + sim.RateLimited);
        Assert.True(efficiency >= 0.9, $"{workers} worker(s): {sim.Succeeded} succeeded of {sim.Allowed(duration):0} allowed ({efficiency:P1})");
        Assert.True(limitedShare <= 0.05, $"{workers} worker(s): {sim.RateLimited} 429s of {sim.Succeeded + sim.RateLimited} requests ({limitedShare:P1})\n{string.Join("\n", sim.Trace)}");
    }

    [Theory]
    [InlineData(1, 1.0)]
    [InlineData(3, 1.0)]
    [InlineData(2, 0.8)]
    public void Token_limits_bind_too_even_when_the_estimate_is_off(int workers, double estimateFactor)
    {
        // 300 k tokens per minute at 100 tokens a request: 50 requests/s, below the 100/s the request limit allows.
        var sim = new PacingSimulation
        {
            Workers = workers,
            Concurrency = 32,
            RequestsPerMinute = 6000,
            TokensPerMinute = 300_000,
            EstimateFactor = estimateFactor,
            SendRetryAfter = false,
        };
        var duration = TimeSpan.FromSeconds(30);
        sim.Run(duration);
        var efficiency = sim.Succeeded / sim.Allowed(duration);
        var limitedShare = (double)sim.RateLimited / (sim.Succeeded + sim.RateLimited);
        Assert.True(efficiency >= 0.88, $"{sim.Succeeded} succeeded of {sim.Allowed(duration):0} allowed ({efficiency:P1})");
        Assert.True(limitedShare <= 0.10, $"{sim.RateLimited} 429s of {sim.Succeeded + sim.RateLimited} ({limitedShare:P1})\n{string.Join("\n", sim.Trace)}");
    }

    [Fact]
    public void Configured_limits_pace_an_endpoint_that_sends_no_headers()
    {
        var pacer = new EndpointPacer(requestsPerMinute: 600, tokensPerMinute: 0, TimeSpan.Zero);
        var sent = 0;
        for (var now = TimeSpan.Zero; now < TimeSpan.FromSeconds(10); now += TimeSpan.FromMilliseconds(10))
        {
            while (pacer.TryTake(now, 10).Wait == TimeSpan.Zero)
            {
                sent++;
            }
        }

        // A minute's burst (600) is allowed at once, then 10/s: about 700 in 10 s.
        Assert.InRange(sent, 690, 701);
    }

    [Fact]
    public void A_429_without_any_limit_known_backs_off_exponentially()
    {
        var pacer = new EndpointPacer(0, 0, TimeSpan.Zero);
        var now = TimeSpan.FromSeconds(1);
        Assert.Equal(TimeSpan.Zero, pacer.TryTake(now, 1).Wait);
        pacer.Observe(now, now, 1, null, rateLimited: true, retryAfter: null);
        Assert.Equal((TimeSpan.FromMilliseconds(500), "rate_limited"), pacer.TryTake(now, 1));
        now += TimeSpan.FromMilliseconds(500);
        Assert.Equal(TimeSpan.Zero, pacer.TryTake(now, 1).Wait);
        pacer.Observe(now, now, 1, null, rateLimited: true, retryAfter: null);
        Assert.Equal(TimeSpan.FromSeconds(1), pacer.TryTake(now, 1).Wait);
        pacer.Observe(now + TimeSpan.FromSeconds(1), now, 1, null, rateLimited: false, retryAfter: null);
        Assert.Equal(TimeSpan.Zero, pacer.TryTake(now + TimeSpan.FromSeconds(1), 1).Wait);
    }

    [Fact]
    public void A_retry_after_holds_every_call_until_it_passes()
    {
        var pacer = new EndpointPacer(0, 0, TimeSpan.Zero);
        pacer.Observe(TimeSpan.Zero, TimeSpan.Zero, 1, new RateLimitSnapshot { LimitedBy = "tokens" }, rateLimited: true, retryAfter: TimeSpan.FromSeconds(3));
        Assert.Equal((TimeSpan.FromSeconds(2), "rate_limited"), pacer.TryTake(TimeSpan.FromSeconds(1), 1));
        Assert.Equal(TimeSpan.Zero, pacer.TryTake(TimeSpan.FromSeconds(3), 1).Wait);
    }

    [Fact]
    public void Reported_remaining_is_not_counted_twice_for_calls_sent_after_the_answered_one()
    {
        // 60 requests/min = 1/s. The endpoint said 10 remaining for a call sent at t=0; this worker sent 5 more since.
        var pacer = new EndpointPacer(0, 0, TimeSpan.Zero);
        var snapshot = new RateLimitSnapshot { LimitRequests = 60, RemainingRequests = 10 };
        pacer.Observe(TimeSpan.Zero, TimeSpan.Zero, 1, snapshot, false, null);
        var taken = 0;
        while (pacer.TryTake(TimeSpan.Zero, 1).Wait == TimeSpan.Zero)
        {
            taken++;
        }

        Assert.Equal(10, taken);
        pacer.Observe(TimeSpan.Zero, TimeSpan.Zero, 1, snapshot, false, null);
        Assert.Equal("requests", pacer.TryTake(TimeSpan.Zero, 1).Reason);
    }

    [Fact]
    public void A_request_larger_than_the_token_limit_can_never_be_admitted()
    {
        var pacer = new EndpointPacer(0, 10_000, TimeSpan.Zero);
        Assert.Equal(10_000, pacer.TokenCapacity);
        Assert.Equal(double.PositiveInfinity, new EndpointPacer(100, 0, TimeSpan.Zero).TokenCapacity);
    }

    [Fact]
    public void Concurrency_settles_near_a_servers_capacity_from_latency_alone()
    {
        // A server that runs K=8 generations at once (100 ms each) and queues the rest: latency = queue wait + 100 ms.
        const int capacity = 8;
        var limit = new ConcurrencyLimit(64, adaptive: true);
        var service = TimeSpan.FromMilliseconds(100);
        var running = new List<TimeSpan>();
        var queued = new Queue<TimeSpan>();
        var done = new List<(TimeSpan End, TimeSpan Sent)>();
        var samples = new List<int>();
        for (var now = TimeSpan.Zero; now < TimeSpan.FromSeconds(60); now += TimeSpan.FromMilliseconds(1))
        {
            for (var i = done.Count - 1; i >= 0; i--)
            {
                if (done[i].End <= now)
                {
                    limit.Release(now, now - done[i].Sent, overloaded: false);
                    done.RemoveAt(i);
                }
            }

            running.RemoveAll(end => end <= now);
            while (running.Count < capacity && queued.Count > 0)
            {
                var sent = queued.Dequeue();
                running.Add(now + service);
                done.Add((now + service, sent));
            }

            while (limit.TryAcquire())
            {
                queued.Enqueue(now);
            }

            if (now > TimeSpan.FromSeconds(30) && now.TotalMilliseconds % 100 == 0)
            {
                samples.Add(limit.Limit);
            }
        }

        var average = samples.Average();
        Assert.True(average is >= capacity and <= capacity + 6, $"limit settled at {average:0.0} (min {samples.Min()}, max {samples.Max()}) for capacity {capacity}");
    }

    [Fact]
    public void Overload_cuts_the_concurrency_limit_and_healthy_answers_grow_it_back()
    {
        var limit = new ConcurrencyLimit(32, adaptive: true);
        var now = TimeSpan.FromSeconds(1);
        Assert.True(limit.TryAcquire());
        limit.Release(now, null, overloaded: true);
        Assert.Equal(24, limit.Limit);
        for (var i = 0; i < 400; i++)
        {
            now += TimeSpan.FromMilliseconds(10);
            while (limit.TryAcquire())
            {
            }

            limit.Release(now, TimeSpan.FromMilliseconds(50), overloaded: false);
        }

        Assert.Equal(32, limit.Limit);
        Assert.Equal(32, new ConcurrencyLimit(32, adaptive: false).Limit);
    }

    [Theory]
    [InlineData("1s", 1000)]
    [InlineData("6m0s", 360_000)]
    [InlineData("120ms", 120)]
    [InlineData("1m30.5s", 90_500)]
    [InlineData("2h3m4s", 7_384_000)]
    [InlineData("0.5", 500)]
    [InlineData("250us", 0.25)]
    public void Reset_durations_are_read_as_the_endpoints_write_them(string text, double milliseconds) =>
        Assert.Equal(milliseconds, RateLimitHeaders.ParseDuration(text)!.Value.TotalMilliseconds, precision: 6);

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("5 parsecs")]
    [InlineData("1x")]
    [InlineData("m")]
    public void Unreadable_durations_are_null(string text) => Assert.Null(RateLimitHeaders.ParseDuration(text));
}
