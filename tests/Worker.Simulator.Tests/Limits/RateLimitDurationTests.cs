using Worker.Simulator.Limits;

namespace Worker.Simulator.Tests.Limits;

/// <summary>Reset durations look like OpenAI's (Go duration format): 120ms, 1s, 9.816s, 1m30.5s, 6m0s.</summary>
public sealed class RateLimitDurationTests
{
    [Theory]
    [InlineData(0, "0s")]
    [InlineData(-5, "0s")]
    [InlineData(0.2, "1ms")]
    [InlineData(12, "12ms")]
    [InlineData(120, "120ms")]
    [InlineData(999.5, "1s")]
    [InlineData(1000, "1s")]
    [InlineData(1500, "1.5s")]
    [InlineData(9816, "9.816s")]
    [InlineData(59_990, "59.99s")]
    [InlineData(60_000, "1m0s")]
    [InlineData(90_500, "1m30.5s")]
    [InlineData(360_000, "6m0s")]
    [InlineData(3_600_000, "1h0m0s")]
    [InlineData(3_723_004, "1h2m3.004s")]
    public void Formats_like_OpenAI(double milliseconds, string expected) =>
        Assert.Equal(expected, RateLimitDuration.Format(TimeSpan.FromMilliseconds(milliseconds)));
}
