using Worker.Connector;
using Worker.Connector.Client;
using Worker.Connector.Http;
using Worker.Runtime.Server;
using Worker.Runtime.Tests.Support;

namespace Worker.Runtime.Tests;

/// <summary>
/// The same runtime called in-process (<see cref="RuntimeServer.Local"/>, the worker's embedded runtime): every case
/// of <see cref="StreamedAnswerTests"/>, with no socket connection, and the runtime's credits, deadlines and drain,
/// which over the socket a connection enforces.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class InProcessStreamingTests : StreamedAnswerTests
{
    protected override int ConnectionsOpened => 0;

    protected override RuntimeClient NewClient(RuntimeServer server) => Local(server);

    [Fact]
    public async Task Whole_answers_are_in_process_too()
    {
        await using var client = Local(Server);

        var response = await client.SendHttpAsync(HttpRequest.Get(Upstream.Url("/words/3/1")));

        Assert.True(client.IsLocal);
        Assert.Equal(200, response.StatusCode);
        Assert.EndsWith(StreamingUpstream.Done, response.Body, StringComparison.Ordinal);
        Assert.Equal(0, Server.OpenConnections);
        Assert.Equal(0, Server.Streams.Started);
    }

    [Fact]
    public async Task A_request_waits_for_a_credit_and_runs_when_one_is_free()
    {
        await using var server = await TestRuntime.StartAsync(o => o.MaxInFlight = 1);
        await using var client = Local(server);
        var held = await client.StreamHttpAsync(HttpRequest.Get(Upstream.Url("/endless")));

        var waiting = client.SendHttpAsync(HttpRequest.Get(Upstream.Url("/words/2/1")));
        await Task.Delay(300);
        Assert.False(waiting.IsCompleted);
        Assert.Equal(1, server.ActiveRequests);

        await held.DisposeAsync();
        var answer = await waiting.WaitAsync(Patience);
        Assert.Equal(200, answer.StatusCode);
        await TestRuntime.EventuallyAsync(() => server.ActiveRequests == 0, Patience, "both credits came back");
    }

    [Fact]
    public async Task A_request_that_finds_no_credit_before_its_deadline_times_out_and_never_runs()
    {
        await using var server = await TestRuntime.StartAsync(o => o.MaxInFlight = 1);
        await using var client = Local(server);
        await using var held = await client.StreamHttpAsync(HttpRequest.Get(Upstream.Url("/endless")));

        var ex = await Assert.ThrowsAsync<ConnectorException>(() =>
            client.StreamHttpAsync(HttpRequest.Get(Upstream.Url("/words/2/1")) with { Timeout = TimeSpan.FromMilliseconds(500) }));

        Assert.Equal(ErrorClass.Timeout, ex.ErrorClass);
        Assert.Equal(1, server.Streams.Started);
        Assert.Equal(1, server.ActiveRequests);
    }

    [Fact]
    public async Task A_caller_that_gives_up_while_waiting_for_a_credit_is_not_run_later()
    {
        await using var server = await TestRuntime.StartAsync(o => o.MaxInFlight = 1);
        await using var client = Local(server);
        var held = await client.StreamHttpAsync(HttpRequest.Get(Upstream.Url("/endless")));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            client.StreamHttpAsync(HttpRequest.Get(Upstream.Url("/words/2/1")), cancellationToken: cancel.Token));
        await held.DisposeAsync();

        await TestRuntime.EventuallyAsync(() => server.ActiveRequests == 0, Patience, "the held credit came back");
        await Task.Delay(300);
        Assert.Equal(0, server.ActiveRequests);
        Assert.Equal(1, server.Streams.Started);
    }

    [Fact]
    public async Task Stopping_drains_requests_in_flight_and_refuses_new_ones()
    {
        var server = await TestRuntime.StartAsync();
        await using var client = Local(server);
        var running = Chat(client, "/gated/drain").CompleteAsync(new() { Messages = [Worker.Connector.OpenAi.ChatMessage.User("hi")] });
        await TestRuntime.EventuallyAsync(() => server.ActiveRequests == 1, Patience, "the request runs");

        var stop = server.StopAsync(CancellationToken.None);
        var refused = await Assert.ThrowsAsync<ConnectorException>(() => client.SendHttpAsync(HttpRequest.Get(Upstream.Url("/words/2/1"))));
        Assert.Equal(ErrorClass.Transient, refused.ErrorClass);
        Assert.Contains(ServerLifetime.ShuttingDownMessage, refused.Message, StringComparison.Ordinal);
        Assert.False(stop.IsCompleted);

        Upstream.OpenGate("drain");
        var completion = await running.WaitAsync(Patience);
        Assert.Equal("Hello world", completion.Content);
        await stop.WaitAsync(Patience);
        await server.DisposeAsync();
    }

    private static RuntimeClient Local(RuntimeServer server) =>
        new(new RuntimeClientOptions { SocketPath = server.SocketPath, UseTcp = false, DefaultTimeout = TimeSpan.FromSeconds(30) }, local: server.Local);

    private Worker.Connector.OpenAi.OpenAiChatClient Chat(RuntimeClient client, string scenario) =>
        new(client, new Worker.Connector.OpenAi.OpenAiOptions { BaseUrl = Upstream.Url(scenario), ApiKey = "" });
}
