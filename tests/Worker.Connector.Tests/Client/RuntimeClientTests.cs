using System.Diagnostics;
using System.Text;
using Worker.Connector.Client;
using Worker.Connector.Protocol;

namespace Worker.Connector.Tests.Client;

public sealed class RuntimeClientTests
{
    private static RuntimeClient NewClient(string path, int poolSize = 1, int maxInFlight = 0) => new(new RuntimeClientOptions
    {
        SocketPath = path,
        PoolSize = poolSize,
        MaxInFlightPerConnection = maxInFlight,
        ReconnectDelay = TimeSpan.FromMilliseconds(20),
        DefaultTimeout = TimeSpan.FromSeconds(30),
    });

    [Fact]
    public async Task Thousand_concurrent_requests_on_one_connection_each_get_their_own_answer_out_of_order()
    {
        var path = TestRuntimeServer.NewSocketPath();
        // Answers come back in a different order from the requests: the delay falls as the id rises.
        await using var server = TestRuntimeServer.StartEcho(path, r => TimeSpan.FromMilliseconds((1000 - (int)(r.RequestId % 1000)) % 40));
        await using var client = NewClient(path);

        var calls = Enumerable.Range(0, 1000).Select(async i =>
        {
            var mine = Encoding.UTF8.GetBytes($"caller-{i}");
            var response = await client.ExecuteAsync("test", "echo", mine);
            return (i, Encoding.UTF8.GetString(response.Payload.Span));
        }).ToArray();
        var results = await Task.WhenAll(calls);

        Assert.All(results, r => Assert.Equal($"caller-{r.i}", r.Item2));
        Assert.Equal(1, server.ConnectionsAccepted);
        Assert.True(server.PeakPerConnection > 100, $"expected many requests in flight on the one connection, peak was {server.PeakPerConnection}");
        Assert.Equal(1000, server.Received.Select(r => r.RequestId).Distinct().Count());
    }

    [Fact]
    public async Task Timed_out_request_fails_with_Timeout_at_once_and_does_not_disturb_the_others()
    {
        var path = TestRuntimeServer.NewSocketPath();
        await using var server = TestRuntimeServer.StartEcho(path, r =>
            Encoding.UTF8.GetString(r.Payload.Span) == "slow" ? TimeSpan.FromSeconds(1.5) : TimeSpan.FromMilliseconds(5));
        await using var client = NewClient(path);

        // Connect first: the clock below measures the timeout, not the connection set-up (peer check included).
        await client.ExecuteAsync("test", "echo", "warm-up"u8.ToArray());
        var started = Stopwatch.StartNew();
        var slow = client.ExecuteAsync("test", "echo", "slow"u8.ToArray(), new RuntimeCallOptions { Timeout = TimeSpan.FromMilliseconds(200) });
        var fast = Enumerable.Range(0, 50).Select(i => client.ExecuteAsync("test", "echo", Encoding.UTF8.GetBytes($"f{i}"))).ToArray();

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => slow);
        var elapsed = started.Elapsed;
        Assert.Equal(ErrorClass.Timeout, ex.ErrorClass);
        Assert.True(ex.IsRetryable);
        Assert.NotNull(ex.RequestId);
        Assert.True(elapsed < TimeSpan.FromSeconds(1.4), $"the timeout should fire before the late answer; took {elapsed}");
        var answers = await Task.WhenAll(fast);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"f{i}"), answers.Select(a => Encoding.UTF8.GetString(a.Payload.Span)));

        // The late answer arrives on the same connection and is dropped; the connection keeps working.
        await Task.Delay(1500);
        var after = await client.ExecuteAsync("test", "echo", "after"u8.ToArray());
        Assert.Equal("after", Encoding.UTF8.GetString(after.Payload.Span));
        Assert.Equal(1, server.ConnectionsAccepted);
    }

    [Fact]
    public async Task Deadline_is_sent_as_absolute_epoch_milliseconds()
    {
        var path = TestRuntimeServer.NewSocketPath();
        await using var server = TestRuntimeServer.StartEcho(path);
        await using var client = NewClient(path);
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await client.ExecuteAsync("test", "echo", "x"u8.ToArray(), new RuntimeCallOptions { Timeout = TimeSpan.FromSeconds(7), TenantId = "acme", WorkspaceId = "ws" });
        var after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Assert.True(server.Received.TryDequeue(out var request));
        Assert.InRange((long)request.DeadlineAtMs, before + 7000, after + 7000);
        Assert.Equal("acme", request.TenantId);
        Assert.Equal("ws", request.WorkspaceId);
        Assert.Equal("test", request.ConnectorName);
        Assert.Equal("echo", request.Operation);
    }

    [Fact]
    public async Task Killing_the_runtime_fails_every_call_in_flight_with_Transient_and_the_next_call_reconnects()
    {
        var path = TestRuntimeServer.NewSocketPath();
        var server = TestRuntimeServer.StartEcho(path, _ => TimeSpan.FromSeconds(30));
        await using var client = NewClient(path);

        var inFlight = Enumerable.Range(0, 20).Select(_ => client.ExecuteAsync("test", "echo", "x"u8.ToArray())).ToArray();
        while (server.InFlight < 20)
        {
            await Task.Delay(10);
        }

        await server.KillAsync();
        foreach (var call in inFlight)
        {
            var ex = await Assert.ThrowsAsync<ConnectorException>(() => call);
            Assert.Equal(ErrorClass.Transient, ex.ErrorClass);
            Assert.Contains("lost", ex.Message, StringComparison.Ordinal);
            Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        }

        await server.DisposeAsync();
        await using var restarted = TestRuntimeServer.StartEcho(path);
        var answer = await client.ExecuteAsync("test", "echo", "back"u8.ToArray());
        Assert.Equal("back", Encoding.UTF8.GetString(answer.Payload.Span));
        Assert.Equal(1, restarted.ConnectionsAccepted);
    }

    [Fact]
    public async Task Runtime_not_running_gives_one_clear_message_naming_the_socket_path()
    {
        var path = TestRuntimeServer.NewSocketPath();
        await using var client = NewClient(path);
        var ex = await Assert.ThrowsAsync<ConnectorException>(() => client.ExecuteAsync("http", "request", "{}"u8.ToArray()));
        Assert.Equal(ErrorClass.Transient, ex.ErrorClass);
        Assert.Contains($"not listening at {path}", ex.Message, StringComparison.Ordinal);
        Assert.IsNotType<System.Net.Sockets.SocketException>(ex);
        Assert.Contains("VASTAR_SOCKET_PATH", ex.Message, StringComparison.Ordinal);

        // Backoff: the next attempt waits, and once the runtime is there it connects.
        await using var server = TestRuntimeServer.StartEcho(path);
        var answer = await client.ExecuteAsync("test", "echo", "up"u8.ToArray());
        Assert.Equal("up", Encoding.UTF8.GetString(answer.Payload.Span));
    }

    [Fact]
    public async Task Runtime_error_class_becomes_a_classified_exception()
    {
        var path = TestRuntimeServer.NewSocketPath();
        await using var server = TestRuntimeServer.Start(path, r => Task.FromResult(new ExecuteResponseMessage
        {
            RequestId = r.RequestId,
            ErrorClass = ErrorClass.RateLimited,
            ErrorMessage = "slow down",
        }));
        await using var client = NewClient(path);
        var ex = await Assert.ThrowsAsync<ConnectorException>(() => client.ExecuteAsync("test", "echo", "x"u8.ToArray()));
        Assert.Equal(ErrorClass.RateLimited, ex.ErrorClass);
        Assert.True(ex.IsRetryable);
        Assert.Equal("slow down", ex.Message);
    }

    [Fact]
    public async Task Health_check_returns_the_runtime_figures()
    {
        var path = TestRuntimeServer.NewSocketPath();
        await using var server = TestRuntimeServer.StartEcho(path);
        await using var client = NewClient(path);
        var health = await client.HealthCheckAsync();
        Assert.True(health.Healthy);
        Assert.Equal("test runtime", health.Message);
        Assert.Equal(99u, health.AvailableCredits);
    }

    [Fact]
    public async Task One_request_per_connection_mode_spreads_over_the_pool_like_the_original_runtime_needs()
    {
        var path = TestRuntimeServer.NewSocketPath();
        await using var server = TestRuntimeServer.StartEcho(path, _ => TimeSpan.FromMilliseconds(50));
        await using var client = NewClient(path, poolSize: 4, maxInFlight: 1);
        var calls = Enumerable.Range(0, 40).Select(i => client.ExecuteAsync("test", "echo", Encoding.UTF8.GetBytes($"{i}"))).ToArray();
        await Task.WhenAll(calls);
        Assert.Equal(1, server.PeakPerConnection);
        Assert.Equal(4, server.ConnectionsAccepted);
    }

    [Fact]
    public async Task Trace_id_carries_the_client_span_traceparent_as_a_child_of_the_current_activity()
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is ConnectorDiagnostics.ActivitySourceName or "test",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        using var source = new ActivitySource("test");
        var path = TestRuntimeServer.NewSocketPath();
        await using var server = TestRuntimeServer.StartEcho(path);
        await using var client = NewClient(path);

        using (var parent = source.StartActivity("job"))
        {
            Assert.NotNull(parent);
            await client.ExecuteAsync("test", "echo", "x"u8.ToArray());
            Assert.True(server.Received.TryDequeue(out var request));
            Assert.NotNull(request.TraceId);
            var context = ActivityContext.Parse(request.TraceId!, null);
            Assert.Equal(parent.TraceId, context.TraceId);
            Assert.NotEqual(parent.SpanId, context.SpanId);
        }
    }

    [Fact]
    public void Endpoint_resolution_follows_options_then_environment_then_defaults()
    {
        static string? None(string _) => null;
        Assert.Equal(RuntimeClientOptions.DefaultSocketPath, RuntimeEndpoint.Resolve(new RuntimeClientOptions(), None).SocketPath);
        var env = new Dictionary<string, string> { ["VASTAR_SOCKET_PATH"] = "/run/x.sock" };
        Assert.Equal("/run/x.sock", RuntimeEndpoint.Resolve(new RuntimeClientOptions(), k => env.GetValueOrDefault(k)).SocketPath);
        Assert.Equal("/opt/y.sock", RuntimeEndpoint.Resolve(new RuntimeClientOptions { SocketPath = "/opt/y.sock" }, k => env.GetValueOrDefault(k)).SocketPath);
        var tcp = new Dictionary<string, string> { ["VASTAR_USE_TCP"] = "true", ["VASTAR_TCP_PORT"] = "6001" };
        var endpoint = RuntimeEndpoint.Resolve(new RuntimeClientOptions(), k => tcp.GetValueOrDefault(k));
        Assert.True(endpoint.IsTcp);
        Assert.Equal(6001, endpoint.TcpPort);
        Assert.Equal("127.0.0.1", endpoint.TcpHost);
        Assert.Equal(5000, RuntimeEndpoint.Resolve(new RuntimeClientOptions { UseTcp = true }, None).TcpPort);
    }
}
