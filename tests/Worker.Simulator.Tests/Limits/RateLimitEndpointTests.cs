using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Worker.Simulator.Tests.Infrastructure;
using static Worker.Simulator.Tests.Infrastructure.SimulatorHttp;

namespace Worker.Simulator.Tests.Limits;

/// <summary>
/// Simulator:RateLimits over real HTTP. Limits are chosen so that refill during a test (seconds on a loaded machine)
/// cannot change a count: e.g. 3 RPM refills one request every 20 s.
/// </summary>
public sealed partial class RateLimitEndpointTests
{
    private static readonly string[] RequestHeaders = ["x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"];
    private static readonly string[] TokenHeaders = ["x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"];

    [Fact]
    public async Task A_burst_gets_exactly_the_request_limit_then_429_requests_with_headers()
    {
        await using var sim = await SimulatorServer.StartAsync(new() { RateLimits = { RequestsPerMinute = 3 } });
        using var http = sim.CreateClient();

        var answers = new List<(HttpStatusCode Status, string? Remaining, string? Reset)>();
        for (var i = 0; i < 5; i++)
        {
            using var response = await http.SendAsync("v1/chat/completions", ChatBody($"burst {i}", stream: i == 0), Key("sk-burst"));
            answers.Add((response.StatusCode, Header(response, "x-ratelimit-remaining-requests"), Header(response, "x-ratelimit-reset-requests")));
            Assert.Equal("3", Header(response, "x-ratelimit-limit-requests"));
            Assert.All(TokenHeaders, name => Assert.Null(Header(response, name)));
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                await AssertRequestsRefusalAsync(response);
            }
            else
            {
                await response.Content.ReadAsStringAsync(); // streams too: the whole answer
                Assert.Null(response.Headers.RetryAfter);
            }
        }

        Assert.Equal(
            [HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests],
            answers.Select(a => a.Status));
        Assert.Equal(["2", "1", "0", "0", "0"], answers.Select(a => a.Remaining));
        Assert.All(answers, a => Assert.Matches(DurationPattern(), a.Reset!));

        var stats = await http.GetStatsAsync();
        Assert.Equal(2, stats.GetProperty("rate_limits").GetProperty("requests_limited").GetInt64());
        Assert.Equal(0, stats.GetProperty("rate_limits").GetProperty("tokens_limited").GetInt64());
        Assert.Equal(2, stats.GetProperty("outcomes").GetProperty("rate_limit").GetInt64());
        Assert.Equal(3, stats.GetProperty("outcomes").GetProperty("ok").GetInt64());
    }

    [Fact]
    public async Task Tokens_are_charged_as_prompt_estimate_plus_max_tokens()
    {
        // 60 TPM: one token a second. The body's text is "You are terse." + "x": 15 characters, 4 tokens; + 20 = 24.
        await using var sim = await SimulatorServer.StartAsync(new() { RateLimits = { TokensPerMinute = 60 } });
        using var http = sim.CreateClient();
        var body = ChatBody("x", extra: b => b["max_tokens"] = 20);

        using var first = await http.SendAsync("v1/chat/completions", body);
        using var second = await http.SendAsync("v1/chat/completions", body);
        using var third = await http.SendAsync("v1/chat/completions", body);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("60", Header(first, "x-ratelimit-limit-tokens"));
        Assert.Equal("36", Header(first, "x-ratelimit-remaining-tokens"));
        Assert.Equal("24s", Header(first, "x-ratelimit-reset-tokens"));
        Assert.All(RequestHeaders, name => Assert.Null(Header(first, name)));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.InRange(long.Parse(Header(second, "x-ratelimit-remaining-tokens")!, System.Globalization.CultureInfo.InvariantCulture), 12, 23);

        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        var error = (await third.ReadJsonAsync()).GetProperty("error");
        Assert.Equal("tokens", error.GetProperty("type").GetString());
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        Assert.StartsWith("Rate limit reached for gpt-4o-mini in organization org-sim on tokens per min (TPM): Limit 60, Used ", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains(", Requested 24. Please try again in ", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        Assert.Equal(48, sim.Stats.TokensCharged);
        Assert.Equal(1, sim.Stats.TokensLimited);
        var stats = await http.GetStatsAsync();
        Assert.Equal(48, stats.GetProperty("rate_limits").GetProperty("tokens_charged").GetInt64());
    }

    [Fact]
    public async Task A_request_larger_than_the_token_bucket_is_too_large_and_gets_no_retry_hint()
    {
        await using var sim = await SimulatorServer.StartAsync(new() { RateLimits = { TokensPerMinute = 600, BurstSeconds = 1 } });
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/chat/completions", ChatBody("x", extra: b => b["max_completion_tokens"] = 50));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        var error = (await response.ReadJsonAsync()).GetProperty("error");
        Assert.Equal("tokens", error.GetProperty("type").GetString());
        Assert.StartsWith("Request too large for gpt-4o-mini in organization org-sim on tokens per min (TPM): Limit 600, Requested 54.", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Null(response.Headers.RetryAfter);
        Assert.False(response.Headers.Contains("retry-after-ms"));
    }

    [Fact]
    public async Task Two_keys_have_separate_buckets_and_requests_without_a_key_share_one()
    {
        await using var sim = await SimulatorServer.StartAsync(new() { RateLimits = { RequestsPerMinute = 1 } });
        using var http = sim.CreateClient();

        async Task<HttpStatusCode> Send(params (string, string)[] headers)
        {
            using var response = await http.SendAsync("v1/chat/completions", ChatBody("hi"), headers);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, await Send(Key("sk-a")));
        Assert.Equal(HttpStatusCode.TooManyRequests, await Send(Key("sk-a")));
        Assert.Equal(HttpStatusCode.OK, await Send(("x-api-key", "sk-b")));
        Assert.Equal(HttpStatusCode.TooManyRequests, await Send(Key("sk-b")));
        Assert.Equal(HttpStatusCode.OK, await Send());
        Assert.Equal(HttpStatusCode.TooManyRequests, await Send());
    }

    [Fact]
    public async Task Retry_after_is_never_sent_when_its_probability_is_0()
    {
        await using var sim = await SimulatorServer.StartAsync(new() { RateLimits = { RequestsPerMinute = 1, RetryAfterProbability = 0 } });
        using var http = sim.CreateClient();

        (await http.SendAsync("v1/chat/completions", ChatBody("hi"))).Dispose();
        for (var i = 0; i < 10; i++)
        {
            using var response = await http.SendAsync("v1/chat/completions", ChatBody("hi"));
            Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
            Assert.Null(response.Headers.RetryAfter);
            Assert.False(response.Headers.Contains("retry-after-ms"));
            Assert.Equal("0", Header(response, "x-ratelimit-remaining-requests"));
        }
    }

    [Fact]
    public async Task Gemini_routes_are_limited_too_with_Google_s_error_shape()
    {
        await using var sim = await SimulatorServer.StartAsync(new() { RateLimits = { RequestsPerMinute = 1 } });
        using var http = sim.CreateClient();
        const string Body = """{"contents":[{"parts":[{"text":"hi"}]}]}""";

        using var first = await http.SendAsync("v1beta/models/gemini-2.0-flash:generateContent", Body, ("x-goog-api-key", "g-1"));
        using var second = await http.SendAsync("v1beta/models/gemini-2.0-flash:generateContent", Body, ("x-goog-api-key", "g-1"));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("0", Header(first, "x-ratelimit-remaining-requests"));
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        var error = (await second.ReadJsonAsync()).GetProperty("error");
        Assert.Equal("RESOURCE_EXHAUSTED", error.GetProperty("status").GetString());
        Assert.Equal(429, error.GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task Without_limits_no_rate_limit_headers_are_sent()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/chat/completions", ChatBody("hi"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(response.Headers, h => h.Key.StartsWith("x-ratelimit-", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(0, sim.Stats.Snapshot().RateLimits.TokensCharged);
    }

    private static async Task AssertRequestsRefusalAsync(HttpResponseMessage response)
    {
        var error = (await response.ReadJsonAsync()).GetProperty("error");
        AssertProperties(error, "message", "type", "param", "code");
        Assert.Equal("requests", error.GetProperty("type").GetString());
        Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        Assert.Matches(
            RequestsMessagePattern(),
            error.GetProperty("message").GetString()!);

        // Default probability 1: both hints, consistent with each other.
        var seconds = response.Headers.RetryAfter?.Delta?.TotalSeconds;
        Assert.InRange(seconds ?? 0, 1, 20);
        var milliseconds = long.Parse(Header(response, "retry-after-ms")!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(milliseconds, (seconds!.Value - 1) * 1000, seconds.Value * 1000);
    }

    private static (string, string) Key(string key) => ("Authorization", "Bearer " + key);

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;

    [GeneratedRegex(@"^(\d+ms|(\d+h)?(\d+m)?\d+(\.\d{1,3})?s)$")]
    private static partial Regex DurationPattern();

    [GeneratedRegex(@"^Rate limit reached for gpt-4o-mini in organization org-sim on requests per min \(RPM\): Limit 3, Used 3, Requested 1\. Please try again in (\d+ms|(\d+m)?\d+(\.\d{1,3})?s)\. Visit https://platform\.openai\.com/account/rate-limits to learn more\.$")]
    private static partial Regex RequestsMessagePattern();
}
