using System.Diagnostics;
using Worker.Connector;
using Worker.Connector.Protocol;
using Worker.Runtime.Tests.Support;

namespace Worker.Runtime.Tests;

/// <summary>Stop drains: requests in flight finish (or are answered Transient when the drain time is up).</summary>
public sealed class DrainTests : IClassFixture<UpstreamFixture>
{
    private readonly TestUpstream _upstream;

    public DrainTests(UpstreamFixture fixture)
    {
        _upstream = fixture.Upstream;
    }

    [Fact]
    public async Task Stop_with_a_long_enough_drain_answers_all_hundred_in_flight()
    {
        var server = await TestRuntime.StartAsync(o => o.DrainTimeout = TimeSpan.FromSeconds(10));
        var path = server.SocketPath!;
        var (connections, pending) = await SendInFlightAsync(server, 100, "/slow?ms=1000");

        var watch = Stopwatch.StartNew();
        await server.StopAsync(CancellationToken.None);
        var answers = await pending;

        Assert.All(answers, a => Assert.Equal(ErrorClass.Success, a.ErrorClass));
        Assert.Equal(100, answers.Select(a => a.RequestId).Distinct().Count());
        Assert.True(watch.ElapsedMilliseconds < 5000, $"stop took {watch.ElapsedMilliseconds} ms");
        Assert.False(File.Exists(path));
        Assert.Equal(0, server.OpenConnections);
        await DisposeAllAsync(connections);
        await server.DisposeAsync();
    }

    [Fact]
    public async Task Stop_with_a_short_drain_answers_the_rest_transient_shutting_down()
    {
        var server = await TestRuntime.StartAsync(o => o.DrainTimeout = TimeSpan.FromMilliseconds(200));
        var path = server.SocketPath!;
        var (connections, pending) = await SendInFlightAsync(server, 100, "/slow?ms=5000");

        var watch = Stopwatch.StartNew();
        await server.StopAsync(CancellationToken.None);
        var answers = await pending;

        Assert.All(answers, a =>
        {
            Assert.Equal(ErrorClass.Transient, a.ErrorClass);
            Assert.Equal("runtime shutting down", a.ErrorMessage);
        });
        Assert.True(watch.ElapsedMilliseconds < 3000, $"stop took {watch.ElapsedMilliseconds} ms");
        Assert.False(File.Exists(path));
        await DisposeAllAsync(connections);
        await server.DisposeAsync();
        await TestRuntime.EventuallyAsync(() => _upstream.SlowInFlight == 0, TimeSpan.FromSeconds(5), "upstream calls cancelled");
    }

    [Fact]
    public async Task Requests_arriving_while_draining_are_refused_transient_and_health_says_so()
    {
        var server = await TestRuntime.StartAsync(o => o.DrainTimeout = TimeSpan.FromSeconds(10));
        await using var connection = await RawConnection.ConnectAsync(server.SocketPath!);
        await connection.SendAsync(TestRuntime.HttpRequest("GET", _upstream.Url("/slow?ms=600")));
        await TestRuntime.EventuallyAsync(() => server.ActiveRequests == 1, TimeSpan.FromSeconds(5), "one request in flight");

        var stop = server.StopAsync(CancellationToken.None);
        var late = TestRuntime.HttpRequest("GET", _upstream.Url("/json"));
        await connection.SendAsync(late);
        await connection.SendHealthCheckAsync();

        var refused = await connection.ReadResponseAsync();
        Assert.Equal(late.RequestId, refused.RequestId);
        Assert.Equal(ErrorClass.Transient, refused.ErrorClass);
        Assert.Equal("runtime shutting down", refused.ErrorMessage);
        var health = await connection.ReadHealthAsync();
        Assert.False(health.Healthy);
        Assert.Equal(ErrorClass.Success, (await connection.ReadResponseAsync()).ErrorClass);
        await stop;
        await server.DisposeAsync();
    }

    [Fact]
    public async Task Stop_cancellation_token_cuts_the_drain_short()
    {
        var server = await TestRuntime.StartAsync(o => o.DrainTimeout = TimeSpan.FromSeconds(30));
        await using var connection = await RawConnection.ConnectAsync(server.SocketPath!);
        await connection.SendAsync(TestRuntime.HttpRequest("GET", _upstream.Url("/slow?ms=5000")));
        await TestRuntime.EventuallyAsync(() => server.ActiveRequests == 1, TimeSpan.FromSeconds(5), "one request in flight");

        using var hostGivesUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var watch = Stopwatch.StartNew();
        await server.StopAsync(hostGivesUp.Token);

        Assert.True(watch.ElapsedMilliseconds < 3000, $"stop took {watch.ElapsedMilliseconds} ms");
        Assert.Equal("runtime shutting down", (await connection.ReadResponseAsync()).ErrorMessage);
        await server.DisposeAsync();
    }

    /// <summary>Sends <paramref name="count"/> requests over 10 connections, waits until all are in flight, and starts reading.</summary>
    private async Task<(List<RawConnection> Connections, Task<ExecuteResponseMessage[]> Answers)> SendInFlightAsync(
        Server.RuntimeServer server, int count, string path)
    {
        var perConnection = count / 10;
        var connections = new List<RawConnection>();
        for (var c = 0; c < 10; c++)
        {
            var connection = await RawConnection.ConnectAsync(server.SocketPath!);
            connections.Add(connection);
            for (var i = 0; i < perConnection; i++)
            {
                await connection.SendAsync(TestRuntime.HttpRequest("GET", _upstream.Url(path)));
            }
        }

        await TestRuntime.EventuallyAsync(() => server.ActiveRequests == count, TimeSpan.FromSeconds(10), $"{count} requests in flight");
        var answers = Task.WhenAll(connections.Select(c => ReadAllAsync(c, perConnection)));
        return (connections, ContinueFlat(answers));
    }

    private static async Task<ExecuteResponseMessage[]> ContinueFlat(Task<ExecuteResponseMessage[][]> answers) =>
        (await answers).SelectMany(a => a).ToArray();

    private static async Task<ExecuteResponseMessage[]> ReadAllAsync(RawConnection connection, int count)
    {
        var answers = new ExecuteResponseMessage[count];
        for (var i = 0; i < count; i++)
        {
            answers[i] = await connection.ReadResponseAsync(TimeSpan.FromSeconds(20));
        }

        return answers;
    }

    private static async Task DisposeAllAsync(List<RawConnection> connections)
    {
        foreach (var connection in connections)
        {
            await connection.DisposeAsync();
        }
    }
}
