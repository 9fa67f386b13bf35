using Worker.Connector.Http;

namespace Worker.Connector.Tests.Http;

/// <summary>The retry hints the official OpenAI SDKs honour: retry-after-ms, x-should-retry, and retrying 409.</summary>
public sealed class RetryHintTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Conflict_is_retried_like_the_sdks_do()
    {
        Assert.Equal(ErrorClass.Transient, HttpStatusClassifier.Classify(409));
        Assert.True(HttpStatusClassifier.ToException(new HttpResponse { StatusCode = 409 }).IsRetryable);
    }

    [Fact]
    public void Retry_after_ms_is_read_in_milliseconds()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(250), RetryAfter.ParseMilliseconds("250"));
        Assert.Equal(TimeSpan.FromMilliseconds(1.5), RetryAfter.ParseMilliseconds(" 1.5 "));
        Assert.Null(RetryAfter.ParseMilliseconds("-3"));
        Assert.Null(RetryAfter.ParseMilliseconds("soon"));
        Assert.Null(RetryAfter.ParseMilliseconds(null));
    }

    [Fact]
    public void Retry_after_ms_wins_over_retry_after_and_an_unreadable_one_falls_back()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(1200), RetryAfter.FromHeaders("1200", "30", Now));
        Assert.Equal(TimeSpan.FromSeconds(30), RetryAfter.FromHeaders("later", "30", Now));
        Assert.Equal(TimeSpan.FromSeconds(30), RetryAfter.FromHeaders(null, "30", Now));
        Assert.Null(RetryAfter.FromHeaders(null, null, Now));
    }

    [Fact]
    public void The_exception_carries_the_millisecond_hint()
    {
        var response = new HttpResponse
        {
            StatusCode = 429,
            Headers = new Dictionary<string, string> { ["retry-after"] = "20", ["retry-after-ms"] = "750" },
        };
        var ex = HttpStatusClassifier.ToException(response, time: TimeProvider.System);
        Assert.Equal(TimeSpan.FromMilliseconds(750), ex.RetryAfter);
        Assert.Equal(ErrorClass.RateLimited, ex.ErrorClass);
    }

    [Theory]
    [InlineData(400, "true", ErrorClass.Transient)]
    [InlineData(404, "TRUE", ErrorClass.Transient)]
    [InlineData(500, "false", ErrorClass.Permanent)]
    [InlineData(429, "false", ErrorClass.Permanent)]
    [InlineData(409, "false", ErrorClass.Permanent)]
    [InlineData(503, "true", ErrorClass.Transient)]
    [InlineData(429, "true", ErrorClass.RateLimited)]
    [InlineData(400, "false", ErrorClass.InvalidRequest)]
    [InlineData(500, "maybe", ErrorClass.Transient)]
    [InlineData(400, null, ErrorClass.InvalidRequest)]
    [InlineData(200, "true", ErrorClass.Success)]
    public void Should_retry_header_overrides_the_status(int status, string? header, ErrorClass expected) =>
        Assert.Equal(expected, HttpStatusClassifier.Classify(status, header));

    [Fact]
    public void The_exception_follows_the_should_retry_header()
    {
        var notRetried = HttpStatusClassifier.ToException(new HttpResponse
        {
            StatusCode = 503,
            Headers = new Dictionary<string, string> { ["x-should-retry"] = "false" },
        });
        Assert.False(notRetried.IsRetryable);
        Assert.Equal(503, notRetried.StatusCode);

        var retried = HttpStatusClassifier.ToException(new HttpResponse
        {
            StatusCode = 400,
            Headers = new Dictionary<string, string> { ["X-Should-Retry"] = "true" },
        });
        Assert.True(retried.IsRetryable);
    }
}
