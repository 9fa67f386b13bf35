using System.Diagnostics;
using Worker.Connector;
using Worker.Connector.Client;
using Worker.Connector.Http;
using Worker.Runtime.Tests.Support;

namespace Worker.Runtime.Tests;

/// <summary>Many requests per connection, answered as each completes; many connections at once.</summary>
public sealed class ConcurrencyTests : IClassFixture<UpstreamFixture>
{
    private readonly TestUpstream _upstream;

    public ConcurrencyTests(UpstreamFixture fixture)
    {
        _upstream = fixture.Upstream;
    }

    [Fact]
    public async Task Thousand_concurrent_requests_over_one_connection()
    {
        await using var server = await TestRuntime.StartAsync();
        await using var client = TestRuntime.Client(server, poolSize: 1, timeout: TimeSpan.FromSeconds(60));

        var tasks = Enumerable.Range(0, 1000).Select(i => client.ExecuteAsync(
            HttpPayloadSerializer.ConnectorName,
            HttpPayloadSerializer.OperationName,
            TestRuntime.HttpPayload("POST", _upstream.Url("/echo"), body: $"request {i}"))).ToArray();
        var responses = await Task.WhenAll(tasks);

        for (var i = 0; i < responses.Length; i++)
        {
            Assert.Equal(ErrorClass.Success, responses[i].ErrorClass);
            Assert.Equal($"request {i}", HttpPayloadSerializer.DeserializeResponse(responses[i].Payload.Span).Body);
        }

        Assert.Equal(0, server.ActiveRequests);
    }

    [Fact]
    public async Task Answers_come_back_as_each_completes_not_in_order()
    {
        await using var server = await TestRuntime.StartAsync();
        await using var connection = await RawConnection.ConnectAsync(server.SocketPath!);
        var slow = TestRuntime.HttpRequest("GET", _upstream.Url("/slow?ms=400"));
        await connection.SendAsync(slow);
        var fast = new List<ulong>();
        for (var i = 0; i < 19; i++)
        {
            var request = TestRuntime.HttpRequest("GET", _upstream.Url("/slow?ms=20"));
            fast.Add(request.RequestId);
            await connection.SendAsync(request);
        }

        var watch = Stopwatch.StartNew();
        var order = new List<ulong>();
        for (var i = 0; i < 20; i++)
        {
            var response = await connection.ReadResponseAsync();
            Assert.Equal(ErrorClass.Success, response.ErrorClass);
            order.Add(response.RequestId);
        }

        Assert.Equal(slow.RequestId, order[^1]);
        Assert.Equal(fast.Order(), order.Take(19).Order());
        Assert.True(watch.ElapsedMilliseconds < 1500, $"20 pipelined requests took {watch.ElapsedMilliseconds} ms (the original: 2.24 s)");
    }

    [Fact]
    public async Task Fifty_connections_at_once()
    {
        await using var server = await TestRuntime.StartAsync();
        var clients = Enumerable.Range(0, 50).Select(_ => TestRuntime.Client(server, poolSize: 1)).ToArray();
        try
        {
            var work = clients.SelectMany(client => Enumerable.Range(0, 10).Select(_ => client.ExecuteAsync(
                HttpPayloadSerializer.ConnectorName, HttpPayloadSerializer.OperationName, TestRuntime.HttpPayload("GET", _upstream.Url("/slow?ms=200"))))).ToArray();
            await TestRuntime.EventuallyAsync(() => server.OpenConnections == 50, TimeSpan.FromSeconds(10), "50 open connections");
            var responses = await Task.WhenAll(work);

            Assert.All(responses, r => Assert.Equal(ErrorClass.Success, r.ErrorClass));
            Assert.Equal(50, server.OpenConnections);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }

        await TestRuntime.EventuallyAsync(() => server.OpenConnections == 0, TimeSpan.FromSeconds(5), "connections closed");
    }

    [Fact]
    public async Task Tcp_listener_serves_the_same_protocol()
    {
        await using var server = await TestRuntime.StartAsync(o =>
        {
            o.ListenUnix = false;
            o.UseTcp = true;
            o.TcpPort = 0;
        });
        Assert.Null(server.SocketPath);
        Assert.NotNull(server.TcpPort);
        Assert.NotEqual(0, server.TcpPort);
        await using var client = new RuntimeClient(new RuntimeClientOptions { UseTcp = true, TcpPort = server.TcpPort, PoolSize = 1 });

        var response = await client.ExecuteAsync(HttpPayloadSerializer.ConnectorName, HttpPayloadSerializer.OperationName, TestRuntime.HttpPayload("GET", _upstream.Url("/json")));

        Assert.Equal(200, HttpPayloadSerializer.DeserializeResponse(response.Payload.Span).StatusCode);
    }
}
