using System.Diagnostics;
using Worker.Connector;
using Worker.Runtime.Tests.Support;
using Xunit.Abstractions;

namespace Worker.Runtime.Tests;

/// <summary>deadline_at_ms is enforced by the runtime itself (the original runtime ignores it).</summary>
[Collection(SerialCollection.Name)]
public sealed class DeadlineTests : IClassFixture<UpstreamFixture>
{
    private readonly TestUpstream _upstream;
    private readonly ITestOutputHelper _output;

    public DeadlineTests(UpstreamFixture fixture, ITestOutputHelper output)
    {
        _upstream = fixture.Upstream;
        _output = output;
    }

    [Fact]
    public async Task Slow_upstream_is_cancelled_and_answered_timeout_at_the_deadline()
    {
        await using var server = await TestRuntime.StartAsync();
        await using var connection = await RawConnection.ConnectAsync(server.SocketPath!);
        var lateness = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var deadline = TestRuntime.DeadlineIn(TimeSpan.FromMilliseconds(200));
            await connection.SendAsync(TestRuntime.HttpRequest("GET", _upstream.Url("/slow?ms=3000"), deadline));

            var response = await connection.ReadResponseAsync();
            var answeredAt = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

            Assert.Equal(ErrorClass.Timeout, response.ErrorClass);
            Assert.StartsWith("Deadline exceeded", response.ErrorMessage, StringComparison.Ordinal);
            var late = answeredAt - (long)deadline;
            Assert.InRange(late, -1, 1000);
            lateness.Add(late);
        }

        _output.WriteLine($"Timeout answered {string.Join(", ", lateness)} ms after the deadline (goal: within 50 ms).");
        await TestRuntime.EventuallyAsync(() => _upstream.SlowInFlight == 0, TimeSpan.FromSeconds(5), "upstream calls cancelled");
    }

    [Fact]
    public async Task Deadline_already_past_is_timeout_at_once()
    {
        await using var server = await TestRuntime.StartAsync();
        await using var connection = await RawConnection.ConnectAsync(server.SocketPath!);
        var watch = Stopwatch.StartNew();

        await connection.SendAsync(TestRuntime.HttpRequest("GET", _upstream.Url("/slow?ms=3000"), TestRuntime.DeadlineIn(TimeSpan.FromSeconds(-5))));
        var response = await connection.ReadResponseAsync();

        Assert.Equal(ErrorClass.Timeout, response.ErrorClass);
        Assert.Contains("in the past", response.ErrorMessage, StringComparison.Ordinal);
        Assert.True(watch.ElapsedMilliseconds < 1000, $"took {watch.ElapsedMilliseconds} ms");
        Assert.Equal(0, _upstream.SlowInFlight);
    }

    [Fact]
    public async Task No_deadline_falls_back_to_the_upstream_timeout()
    {
        await using var server = await TestRuntime.StartAsync(o => o.UpstreamTimeout = TimeSpan.FromMilliseconds(200));
        await using var connection = await RawConnection.ConnectAsync(server.SocketPath!);
        var watch = Stopwatch.StartNew();

        await connection.SendAsync(TestRuntime.HttpRequest("GET", _upstream.Url("/slow?ms=3000"), deadlineAtMs: 0));
        var response = await connection.ReadResponseAsync();

        Assert.Equal(ErrorClass.Timeout, response.ErrorClass);
        Assert.Contains("Runtime:UpstreamTimeout", response.ErrorMessage, StringComparison.Ordinal);
        Assert.InRange(watch.ElapsedMilliseconds, 150, 1500);
    }

    [Fact]
    public async Task Fast_answer_before_the_deadline_is_success()
    {
        await using var server = await TestRuntime.StartAsync();
        await using var connection = await RawConnection.ConnectAsync(server.SocketPath!);

        await connection.SendAsync(TestRuntime.HttpRequest("GET", _upstream.Url("/slow?ms=20"), TestRuntime.DeadlineIn(TimeSpan.FromSeconds(5))));
        var response = await connection.ReadResponseAsync();

        Assert.Equal(ErrorClass.Success, response.ErrorClass);
        // The upstream waits 20 ms on its own timer; the runtime's clock may see a little less (timer granularity).
        Assert.True(response.DurationUs >= 15_000, $"duration_us {response.DurationUs}");
    }
}
