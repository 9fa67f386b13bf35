using System.Text.Json;
using Microsoft.Extensions.Logging;
using Worker.Connector;
using Worker.Connector.Client;
using Worker.Connector.Http;
using Worker.Runtime.Server;
using Worker.Runtime.Tests.Support;

namespace Worker.Runtime.Tests;

/// <summary>Our client → our runtime → a real HTTP endpoint: payloads, headers and every error class.</summary>
public sealed class HttpExecutionTests : IClassFixture<UpstreamFixture>, IAsyncLifetime
{
    private readonly TestUpstream _upstream;
    private readonly ListLoggerProvider _logs = new();
    private ILoggerFactory _loggerFactory = null!;
    private RuntimeServer _server = null!;
    private RuntimeClient _client = null!;

    public HttpExecutionTests(UpstreamFixture fixture)
    {
        _upstream = fixture.Upstream;
    }

    public async Task InitializeAsync()
    {
        _loggerFactory = ListLoggerProvider.CreateFactory(_logs);
        _server = await TestRuntime.StartAsync(o => o.MaxResponseBytes = 64 * 1024, _loggerFactory);
        _client = TestRuntime.Client(_server);
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
        _loggerFactory.Dispose();
    }

    [Fact]
    public async Task Json_body_comes_back_whole_with_lower_case_headers()
    {
        var response = await SendAsync("GET", _upstream.Url("/json"));

        Assert.Equal(200, response.StatusCode);
        Assert.False(response.IsStreaming);
        Assert.Equal("application/json; charset=utf-8", response.Headers!["content-type"]);
        Assert.All(response.Headers.Keys, k => Assert.Equal(k.ToLowerInvariant(), k));
        using var body = JsonDocument.Parse(response.Body!);
        Assert.Equal("Paris", body.RootElement.GetProperty("answer").GetString());
    }

    [Fact]
    public async Task Post_sends_body_and_content_type()
    {
        var response = await SendAsync("POST", _upstream.Url("/echo"), new() { ["Content-Type"] = "application/json" }, "{\"q\":\"héllo\"}");

        Assert.Equal(200, response.StatusCode);
        Assert.Equal("{\"q\":\"héllo\"}", response.Body);
        Assert.StartsWith("application/json", response.Headers!["content-type"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Event_stream_is_collected_whole_and_marked_streaming()
    {
        var response = await SendAsync("GET", _upstream.Url("/sse"));

        Assert.Equal(200, response.StatusCode);
        Assert.True(response.IsStreaming);
        Assert.Equal("text/event-stream", response.Headers!["content-type"]);
        Assert.Equal("Yes", response.Headers["x-upstream-header"]);
        Assert.Equal(5, response.Body!.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.EndsWith("data: [DONE]\n\n", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Compressed_bodies_are_decompressed()
    {
        var response = await SendAsync("GET", _upstream.Url("/gzip"));

        Assert.Equal("decompressed body", response.Body);
        Assert.False(response.Headers!.ContainsKey("content-encoding"));
    }

    [Fact]
    public async Task Redirects_are_returned_not_followed()
    {
        var response = await SendAsync("GET", _upstream.Url("/redirect"));

        Assert.Equal(302, response.StatusCode);
        Assert.EndsWith("/json", response.Headers!["location"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(429)]
    [InlineData(503)]
    [InlineData(401)]
    public async Task Upstream_error_statuses_are_success_with_the_status_and_retry_after(int status)
    {
        var response = await SendAsync("GET", _upstream.Url($"/status/{status}"));

        Assert.Equal(status, response.StatusCode);
        Assert.Equal($"status {status}", response.Body);
        if (status is 429 or 503)
        {
            Assert.Equal("7", response.Headers!["retry-after"]);
        }
    }

    [Fact]
    public async Task Connection_refused_is_transient_http_request_failed()
    {
        var port = ClosedPort();
        var error = await FailAsync(TestRuntime.HttpPayload("GET", $"http://127.0.0.1:{port}/nothing"));

        Assert.Equal(ErrorClass.Transient, error.ErrorClass);
        Assert.StartsWith("HTTP request failed: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("refused", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Unknown_host_is_transient_http_request_failed()
    {
        var error = await FailAsync(TestRuntime.HttpPayload("GET", "http://no-such-host.invalid/x"));

        Assert.Equal(ErrorClass.Transient, error.ErrorClass);
        Assert.StartsWith("HTTP request failed: ", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET", "not a url", "Invalid URL")]
    [InlineData("GET", "/relative/path", "scheme 'file'")]
    [InlineData("GET", "file:///etc/passwd", "scheme 'file'")]
    [InlineData("GET", "ftp://127.0.0.1/file", "scheme 'ftp'")]
    [InlineData("BREW", "http://127.0.0.1/", "Unsupported HTTP method 'BREW'")]
    [InlineData("", "http://127.0.0.1/", "no \"method\"")]
    [InlineData("GET", "", "no \"url\"")]
    public async Task Bad_requests_are_invalid_request_saying_which(string method, string url, string expected)
    {
        var error = await FailAsync(TestRuntime.HttpPayload(method, url));

        Assert.Equal(ErrorClass.InvalidRequest, error.ErrorClass);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("[1,2,3]")]
    [InlineData("{\"method\":\"GET\",\"url\":\"http://127.0.0.1/\",\"headers\":{\"x\":1}}")]
    [InlineData("")]
    public async Task Payload_that_is_not_the_json_object_is_invalid_request(string payload)
    {
        var error = await FailAsync(System.Text.Encoding.UTF8.GetBytes(payload));

        Assert.Equal(ErrorClass.InvalidRequest, error.ErrorClass);
        Assert.Contains("not valid JSON", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Header_with_line_break_is_invalid_request_without_echoing_the_value()
    {
        var error = await FailAsync(TestRuntime.HttpPayload("GET", _upstream.Url("/json"), new() { ["Authorization"] = "Bearer sec\r\nret" }));

        Assert.Equal(ErrorClass.InvalidRequest, error.ErrorClass);
        Assert.Contains("'Authorization'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sec", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_connector_and_operation_are_invalid_request_naming_them()
    {
        var connector = await Assert.ThrowsAsync<ConnectorException>(() => _client.ExecuteAsync("smtp", "request", TestRuntime.HttpPayload("GET", "http://x/")));
        var operation = await Assert.ThrowsAsync<ConnectorException>(() => _client.ExecuteAsync("http", "stream", TestRuntime.HttpPayload("GET", "http://x/")));

        Assert.Equal(ErrorClass.InvalidRequest, connector.ErrorClass);
        Assert.Equal("Unknown connector 'smtp' (this runtime serves: http).", connector.Message);
        Assert.Equal(ErrorClass.InvalidRequest, operation.ErrorClass);
        Assert.Equal("Unknown operation 'stream' for connector 'http' (supported: request).", operation.Message);
    }

    [Fact]
    public async Task Body_over_the_cap_is_permanent()
    {
        var declared = await FailAsync(TestRuntime.HttpPayload("GET", _upstream.Url("/big?bytes=100000")));

        Assert.Equal(ErrorClass.Permanent, declared.ErrorClass);
        Assert.Contains("Runtime:MaxResponseBytes (65536 bytes)", declared.Message, StringComparison.Ordinal);
        var exact = await SendAsync("GET", _upstream.Url("/big?bytes=65536"));
        Assert.Equal(65536, exact.Body!.Length);
    }

    [Fact]
    public async Task Event_stream_over_the_cap_without_length_is_permanent()
    {
        await using var server = await TestRuntime.StartAsync(o => o.MaxResponseBytes = 40);
        await using var client = TestRuntime.Client(server);

        var error = await Assert.ThrowsAsync<ConnectorException>(() =>
            client.ExecuteAsync(HttpPayloadSerializer.ConnectorName, HttpPayloadSerializer.OperationName, TestRuntime.HttpPayload("GET", _upstream.Url("/sse"))));

        Assert.Equal(ErrorClass.Permanent, error.ErrorClass);
        Assert.Contains("the body exceeds", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hosts_outside_the_allowlist_are_refused()
    {
        await using var server = await TestRuntime.StartAsync(o => o.AllowedHosts.Add("api.example.com, *.openai.com"));
        await using var client = TestRuntime.Client(server);

        var error = await Assert.ThrowsAsync<ConnectorException>(() =>
            client.ExecuteAsync(HttpPayloadSerializer.ConnectorName, HttpPayloadSerializer.OperationName, TestRuntime.HttpPayload("GET", _upstream.Url("/json"))));

        Assert.Equal(ErrorClass.InvalidRequest, error.ErrorClass);
        Assert.Equal($"Host '{_upstream.Authority}' is not allowed (Runtime:AllowedHosts).", error.Message);
        Assert.Equal(0, _upstream.SlowInFlight);
    }

    [Fact]
    public async Task Allowlisted_host_and_port_is_served()
    {
        await using var server = await TestRuntime.StartAsync(o => o.AllowedHosts.Add(_upstream.Authority));
        await using var client = TestRuntime.Client(server);

        var response = await client.ExecuteAsync(HttpPayloadSerializer.ConnectorName, HttpPayloadSerializer.OperationName, TestRuntime.HttpPayload("GET", _upstream.Url("/json")));

        Assert.Equal(200, HttpPayloadSerializer.DeserializeResponse(response.Payload.Span).StatusCode);
    }

    [Fact]
    public async Task Credentials_never_reach_the_logs()
    {
        await SendAsync("GET", _upstream.Url("/headers?api_key=query-secret"), new()
        {
            ["Authorization"] = "Bearer header-secret",
            ["X-Api-Key"] = "key-secret",
            ["Cookie"] = "session=cookie-secret",
        });
        await FailAsync(TestRuntime.HttpPayload("GET", $"http://127.0.0.1:{ClosedPort()}/?token=query-secret", new() { ["Authorization"] = "Bearer header-secret" }));

        Assert.NotEmpty(_logs.Lines);
        Assert.Contains(_logs.Lines, l => l.Level == LogLevel.Debug && l.Text.Contains("/headers", StringComparison.Ordinal));
        Assert.DoesNotContain(_logs.Lines, l => l.Text.Contains("secret", StringComparison.Ordinal));
        Assert.DoesNotContain(_logs.Lines, l => l.Level >= LogLevel.Information && l.Text.Contains("/headers", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Request_headers_reach_the_upstream()
    {
        var response = await SendAsync("GET", _upstream.Url("/headers"), new() { ["Authorization"] = "Bearer abc", ["X-Custom"] = "ünïcode" });

        using var seen = JsonDocument.Parse(response.Body!);
        Assert.Equal("Bearer abc", seen.RootElement.GetProperty("authorization").GetString());
        Assert.False(seen.RootElement.TryGetProperty("cookie", out _));
    }

    private async Task<HttpResponsePayload> SendAsync(string method, string url, Dictionary<string, string>? headers = null, string? body = null)
    {
        var response = await _client.ExecuteAsync(HttpPayloadSerializer.ConnectorName, HttpPayloadSerializer.OperationName, TestRuntime.HttpPayload(method, url, headers, body));
        return HttpPayloadSerializer.DeserializeResponse(response.Payload.Span);
    }

    private Task<ConnectorException> FailAsync(byte[] payload) =>
        Assert.ThrowsAsync<ConnectorException>(() => _client.ExecuteAsync(HttpPayloadSerializer.ConnectorName, HttpPayloadSerializer.OperationName, payload));

    /// <summary>A loopback port nothing listens on (bound, then released).</summary>
    internal static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
