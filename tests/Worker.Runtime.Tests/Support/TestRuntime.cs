using Microsoft.Extensions.Logging;
using Worker.Connector.Client;
using Worker.Connector.Http;
using Worker.Connector.Protocol;
using Worker.Runtime.Configuration;
using Worker.Runtime.Server;

namespace Worker.Runtime.Tests.Support;

/// <summary>Starts runtimes on unique temp socket paths, isolated from the VASTAR_* variables of the test process.</summary>
internal static class TestRuntime
{
    private static long _lastRequestId;

    /// <summary>Short (Unix socket paths must stay under 108 bytes) and unique.</summary>
    public static string NewSocketPath() => Path.Combine(Path.GetTempPath(), $"wrt-{Guid.NewGuid():N}"[..16] + ".sock");

    public static RuntimeServer Create(Action<RuntimeServerOptions>? configure = null, ILoggerFactory? loggerFactory = null)
    {
        var options = new RuntimeServerOptions { SocketPath = NewSocketPath() };
        configure?.Invoke(options);
        return new RuntimeServer(options, loggerFactory, meterFactory: null, environment: static _ => null, timeProvider: null);
    }

    public static async Task<RuntimeServer> StartAsync(Action<RuntimeServerOptions>? configure = null, ILoggerFactory? loggerFactory = null)
    {
        var server = Create(configure, loggerFactory);
        await server.StartAsync(CancellationToken.None);
        return server;
    }

    public static RuntimeClient Client(RuntimeServer server, int poolSize = 1, TimeSpan? timeout = null) =>
        new(new RuntimeClientOptions
        {
            SocketPath = server.SocketPath,
            UseTcp = false,
            PoolSize = poolSize,
            DefaultTimeout = timeout ?? TimeSpan.FromSeconds(30),
        });

    public static ulong NextRequestId() => (ulong)Interlocked.Increment(ref _lastRequestId);

    public static byte[] HttpPayload(string method, string url, Dictionary<string, string>? headers = null, string? body = null) =>
        HttpPayloadSerializer.Serialize(new HttpRequestPayload { Method = method, Url = url, Headers = headers, Body = body });

    public static ExecuteRequestMessage HttpRequest(
        string method, string url, ulong deadlineAtMs = 0, Dictionary<string, string>? headers = null, string? body = null, ulong? requestId = null) =>
        new()
        {
            RequestId = requestId ?? NextRequestId(),
            TenantId = "default",
            ConnectorName = HttpPayloadSerializer.ConnectorName,
            Operation = HttpPayloadSerializer.OperationName,
            DeadlineAtMs = deadlineAtMs,
            Payload = HttpPayload(method, url, headers, body),
        };

    public static ulong DeadlineIn(TimeSpan fromNow) => (ulong)(DateTimeOffset.UtcNow + fromNow).ToUnixTimeMilliseconds();

    /// <summary>Waits (polling) until <paramref name="condition"/> holds, failing after <paramref name="timeout"/>.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var until = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > until)
            {
                Assert.Fail($"Timed out after {timeout.TotalSeconds} s waiting for: {what}");
            }

            await Task.Delay(10);
        }
    }
}
