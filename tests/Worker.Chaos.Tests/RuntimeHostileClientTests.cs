using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Google.FlatBuffers;
using Worker.Connector.Client;
using Worker.Connector.Http;
using Worker.Connector.Protocol;
using Worker.Simulator;
using Worker.Testing;

namespace Worker.Chaos.Tests;

/// <summary>
/// Hostile local clients against a real <c>Worker.Runtime</c> process: a flood of requests with deadlines ten years away
/// to an upstream that hangs, then a disconnect; and more connections than <c>Runtime:MaxConnections</c>.
/// </summary>
public sealed class RuntimeHostileClientTests : IAsyncLifetime
{
    private SimulatorServer _simulator = null!;
    private string _work = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatorServer.StartAsync();
        _work = Directory.CreateTempSubdirectory("worker-hostile-").FullName;
    }

    public async Task DisposeAsync() => await _simulator.DisposeAsync();

    [Fact]
    public async Task A_flood_holds_at_most_its_share_and_once_it_disconnects_every_credit_returns_and_a_well_formed_client_is_served_within_a_second()
    {
        var socketPath = SocketPath();
        await using var runtime = await StartRuntimeAsync(socketPath, []);
        await using var client = new RuntimeClient(new RuntimeClientOptions { SocketPath = socketPath, PoolSize = 1, DefaultTimeout = TimeSpan.FromSeconds(1) });
        var tenYears = (ulong)DateTimeOffset.UtcNow.AddYears(10).ToUnixTimeMilliseconds();
        var flood = Enumerable.Range(0, 1_100).SelectMany(i => HangingRequest((ulong)i + 1, tenYears)).ToArray();

        var flooder = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await flooder.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        var sending = Task.Run(async () =>
        {
            try
            {
                await flooder.SendAsync(flood, SocketFlags.None);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // The runtime reads no more than the flood's share; the rest is cut off by the close below.
            }
        });
        Assert.True(await EventuallyAsync(async () => (await client.HealthCheckAsync()).ActiveRequests >= 256, TimeSpan.FromSeconds(30)), "the flood's requests started");
        await Task.Delay(500);
        var held = (await client.HealthCheckAsync()).ActiveRequests;

        // While the flood is connected it holds its share (a quarter of Runtime:MaxInFlight), and others are served.
        Assert.Equal(256U, held);
        Assert.Equal(200, (await client.SendHttpAsync(HttpRequest.Get(new Uri(_simulator.BaseAddress, "v1/models").ToString()))).StatusCode);

        flooder.Dispose();
        await sending;

        Assert.True(await EventuallyAsync(async () => (await client.HealthCheckAsync()).ActiveRequests == 0, TimeSpan.FromSeconds(1)),
            $"the {held} credits of the closed flood were not all back within 1 s");
        Assert.Equal(200, (await client.SendHttpAsync(HttpRequest.Get(new Uri(_simulator.BaseAddress, "v1/models").ToString()))).StatusCode);
        Assert.DoesNotContain("fail:", runtime.Tail(200), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connections_over_Runtime_MaxConnections_are_refused_at_accept_and_logged_once_per_burst_without_harming_open_ones()
    {
        var socketPath = SocketPath();
        await using var runtime = await StartRuntimeAsync(socketPath, new() { ["Runtime__MaxConnections"] = "10" });
        var open = new List<RuntimeClient>();
        var refused = new List<Socket>();
        try
        {
            for (var i = 0; i < 10; i++)
            {
                var client = new RuntimeClient(new RuntimeClientOptions { SocketPath = socketPath, PoolSize = 1, DefaultTimeout = TimeSpan.FromSeconds(10) });
                open.Add(client);
                Assert.True((await client.HealthCheckAsync()).Healthy);
            }

            for (var i = 0; i < 30; i++)
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                refused.Add(socket);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
            }

            foreach (var socket in refused)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                Assert.Equal(0, await ReceiveOrResetAsync(socket, timeout.Token));
            }

            foreach (var client in open)
            {
                Assert.Equal(200, (await client.SendHttpAsync(HttpRequest.Get(new Uri(_simulator.BaseAddress, "v1/models").ToString()))).StatusCode);
            }

            Assert.True(await Eventually.TrueAsync(() => runtime.Tail(500).Contains("Refusing connections", StringComparison.Ordinal), TimeSpan.FromSeconds(5)));
            await Task.Delay(500);
            Assert.Equal(1, CountLines(runtime.Tail(500), "Refusing connections: Runtime:MaxConnections (10)"));
        }
        finally
        {
            refused.ForEach(s => s.Dispose());
            foreach (var client in open)
            {
                await client.DisposeAsync();
            }
        }
    }

    private async Task<ManagedProcess> StartRuntimeAsync(string socketPath, Dictionary<string, string?> settings)
    {
        var environment = new Dictionary<string, string?>(settings, StringComparer.Ordinal)
        {
            ["Runtime__AllowedHosts__0"] = $"{_simulator.BaseAddress.Host}:{_simulator.BaseAddress.Port}",
            ["Logging__Console__FormatterName"] = "simple",
            ["Logging__Console__FormatterOptions__SingleLine"] = "true",
            ["VASTAR_SOCKET_PATH"] = null,
            ["VASTAR_USE_TCP"] = null,
        };
        var runtime = ManagedProcess.Start("runtime(hostile)", BuildOutput.RuntimeDll, ["--socket", socketPath], environment, Path.Combine(_work, $"runtime-{Path.GetFileNameWithoutExtension(socketPath)}.log"));
        try
        {
            await WorkerSetup.WaitUntilListeningAsync(runtime, socketPath, CancellationToken.None);
            return runtime;
        }
        catch
        {
            await runtime.DisposeAsync();
            throw;
        }
    }

    /// <summary>A chat completion the simulator never answers (X-Sim-Fault: hang), as a whole frame.</summary>
    private byte[] HangingRequest(ulong requestId, ulong deadlineAtMs)
    {
        var payload = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["method"] = "POST",
            ["url"] = new Uri(_simulator.BaseAddress, "v1/chat/completions").ToString(),
            ["headers"] = new Dictionary<string, string> { ["Content-Type"] = "application/json", ["X-Sim-Fault"] = "hang" },
            ["body"] = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"flood"}]}""",
        }));
        var builder = new FlatBufferBuilder(1024);
        IpcSerializer.Write(builder, new ExecuteRequestMessage
        {
            RequestId = requestId,
            TenantId = "flood",
            ConnectorName = "http",
            Operation = "request",
            DeadlineAtMs = deadlineAtMs,
            Payload = payload,
        });
        return FrameCodec.Encode(MessageType.ExecuteRequest, IpcSerializer.Finished(builder));
    }

    private static async Task<bool> EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > until)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    private static async Task<int> ReceiveOrResetAsync(Socket socket, CancellationToken cancellationToken)
    {
        try
        {
            return await socket.ReceiveAsync(new byte[16], SocketFlags.None, cancellationToken);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            return 0;
        }
    }

    private static int CountLines(string text, string what) =>
        text.Split('\n').Count(l => l.Contains(what, StringComparison.Ordinal));

    private static string SocketPath() => Path.Combine("/tmp", $"whost-{Convert.ToHexString(RandomNumberGenerator.GetBytes(5)).ToLowerInvariant()}.sock");
}
