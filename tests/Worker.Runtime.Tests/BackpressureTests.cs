using Worker.Connector;
using Worker.Connector.Protocol;
using Worker.Runtime.Tests.Support;

namespace Worker.Runtime.Tests;

/// <summary>Runtime:MaxInFlight caps requests in flight; beyond it the runtime stops reading, and catches up after.</summary>
public sealed class BackpressureTests : IClassFixture<UpstreamFixture>
{
    private readonly TestUpstream _upstream;

    public BackpressureTests(UpstreamFixture fixture)
    {
        _upstream = fixture.Upstream;
    }

    [Fact]
    public async Task Third_request_waits_for_a_credit_and_completes_after()
    {
        // One connection may use every credit here: the per-connection share is not what this test is about.
        await using var server = await TestRuntime.StartAsync(o =>
        {
            o.MaxInFlight = 2;
            o.MaxInFlightPerConnection = 2;
        });
        await using var connection = await RawConnection.ConnectAsync(server.SocketPath!);
        await using var monitor = await RawConnection.ConnectAsync(server.SocketPath!);
        // The two slow ones end 1.5 s apart, so the order of the answers does not depend on timer jitter.
        var first = TestRuntime.HttpRequest("GET", _upstream.Url("/slow?ms=1500"));
        var second = TestRuntime.HttpRequest("GET", _upstream.Url("/slow?ms=3000"));
        var third = TestRuntime.HttpRequest("GET", _upstream.Url("/json"));

        await connection.SendAsync(first);
        await connection.SendAsync(second);
        await connection.SendAsync(third);
        await TestRuntime.EventuallyAsync(() => server.ActiveRequests == 2, TimeSpan.FromSeconds(5), "two requests in flight");

        await monitor.SendHealthCheckAsync();
        var health = await monitor.ReadHealthAsync();
        Assert.True(health.Healthy);
        Assert.Equal(2U, health.ActiveRequests);
        Assert.Equal(0U, health.AvailableCredits);

        // The fast third request cannot overtake: it is not even read until the first slow one frees its credit,
        // then it runs at once, before the second slow one ends.
        var answers = new List<ExecuteResponseMessage>();
        for (var i = 0; i < 3; i++)
        {
            answers.Add(await connection.ReadResponseAsync());
        }

        Assert.All(answers, a => Assert.Equal(ErrorClass.Success, a.ErrorClass));
        Assert.Equal([first.RequestId, third.RequestId, second.RequestId], answers.Select(a => a.RequestId));
        Assert.True(_upstream.SlowPeak <= 2, $"upstream saw {_upstream.SlowPeak} requests at once");

        // A credit returns just after its answer is written, so the client can read the last answer first.
        await TestRuntime.EventuallyAsync(() => server.ActiveRequests == 0, TimeSpan.FromSeconds(5), "every credit returned");

        await monitor.SendHealthCheckAsync();
        Assert.Equal(2U, (await monitor.ReadHealthAsync()).AvailableCredits);
    }

    [Fact]
    public async Task Request_whose_deadline_passes_while_waiting_for_a_credit_is_timeout()
    {
        await using var server = await TestRuntime.StartAsync(o => o.MaxInFlight = 1);
        await using var connection = await RawConnection.ConnectAsync(server.SocketPath!);
        var blocker = TestRuntime.HttpRequest("GET", _upstream.Url("/slow?ms=800"));
        var starved = TestRuntime.HttpRequest("GET", _upstream.Url("/json"), TestRuntime.DeadlineIn(TimeSpan.FromMilliseconds(150)));

        await connection.SendAsync(blocker);
        await connection.SendAsync(starved);

        var firstAnswer = await connection.ReadResponseAsync();
        Assert.Equal(starved.RequestId, firstAnswer.RequestId);
        Assert.Equal(ErrorClass.Timeout, firstAnswer.ErrorClass);
        Assert.Contains("Runtime:MaxInFlight", firstAnswer.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(ErrorClass.Success, (await connection.ReadResponseAsync()).ErrorClass);
    }

    [Fact]
    public async Task Credit_update_is_sent_on_connect_only_when_enabled()
    {
        await using var quiet = await TestRuntime.StartAsync();
        await using var chatty = await TestRuntime.StartAsync(o =>
        {
            o.SendCreditUpdates = true;
            o.MaxInFlight = 16;
        });
        await using var quietConnection = await RawConnection.ConnectAsync(quiet.SocketPath!);
        await using var chattyConnection = await RawConnection.ConnectAsync(chatty.SocketPath!);

        var update = await chattyConnection.ReadFrameAsync();
        Assert.Equal(MessageType.CreditUpdate, update!.Value.Type);
        var credits = IpcSerializer.ReadCreditUpdate(update.Value.Payload, update.Value.Payload.Length);
        Assert.Equal(16, credits.CreditDelta);
        Assert.Equal(16U, credits.TotalCredits);

        // Without the option the first frame a client sees is the answer to its own first message.
        await quietConnection.SendHealthCheckAsync();
        Assert.Equal(MessageType.HealthResponse, (await quietConnection.ReadFrameAsync())!.Value.Type);
    }
}
