using Worker.Simulator.Faults;
using Worker.Simulator.Latency;

namespace Worker.Simulator.Tests.Generation;

/// <summary>X-Sim-Latency and X-Sim-Fault formats.</summary>
public sealed class HeaderParserTests
{
    private static readonly LatencyProfile Defaults = new(TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(6));

    [Theory]
    [InlineData("ttft=200ms,token=20ms", 200, 20)]
    [InlineData("ttft=0.2s; token=0.02s", 200, 20)]
    [InlineData("TTFT=150", 150, 6)]
    [InlineData("token=1s", 5, 1000)]
    [InlineData("", 5, 6)]
    public void Latency_header_accepts_ms_and_s(string header, int ttftMs, int tokenMs)
    {
        Assert.True(LatencyHeaderParser.TryParse(header, Defaults, out var profile, out var error), error);
        Assert.Equal(TimeSpan.FromMilliseconds(ttftMs), profile.TimeToFirstToken);
        Assert.Equal(TimeSpan.FromMilliseconds(tokenMs), profile.TimePerToken);
    }

    [Theory]
    [InlineData("rate_limit", "rate_limit", 1, null)]
    [InlineData("rate_limit;retry_after=2", "rate_limit", 2, null)]
    [InlineData("rate_limit; retry_after=3s", "rate_limit", 3, null)]
    [InlineData("drop;after=4", "drop", 1, 4)]
    [InlineData("ERROR_EVENT", "error_event", 1, null)]
    [InlineData("none", "none", 1, null)]
    public void Fault_header_reads_mode_and_parameters(string header, string mode, int retryAfter, int? after)
    {
        Assert.True(FaultHeaderParser.TryParse(header, 1, out var plan, out var error), error);
        Assert.Equal(mode, FaultModeNames.ToName(plan.Mode));
        Assert.Equal(retryAfter, plan.RetryAfterSeconds);
        Assert.Equal(after, plan.AfterTokens);
    }
}
