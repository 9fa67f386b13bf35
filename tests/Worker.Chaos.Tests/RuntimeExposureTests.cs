using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Worker.Chaos.Tests.Support;
using Worker.Connector;
using Worker.Connector.Client;
using Worker.Connector.Http;
using Worker.Runtime.Configuration;
using Worker.Runtime.Server;
using Worker.Simulator;
using Worker.Testing;

namespace Worker.Chaos.Tests;

/// <summary>
/// Who can reach the runtime and where it can be made to go: the socket file is not world-writable (and a mode that
/// would be is refused), the host allowlist refuses every other host (redirects are not followed past it), and TCP
/// listens on loopback only unless configured otherwise.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RuntimeExposureTests : IAsyncLifetime
{
    private SimulatorServer _simulator = null!;

    public async Task InitializeAsync() => _simulator = await SimulatorServer.StartAsync();

    public async Task DisposeAsync() => await _simulator.DisposeAsync();

    [Fact]
    public async Task The_runtime_process_creates_its_socket_without_any_access_for_other_users()
    {
        var work = Directory.CreateTempSubdirectory("worker-exposure-").FullName;
        var setup = new WorkerSetup(new Uri("amqp://unused/"), "unused", _simulator.BaseAddress, work);
        await using var runtime = await setup.StartRuntimeAsync(1);

        var mode = File.GetUnixFileMode(setup.SocketPath);

        Assert.Equal((UnixFileMode)0, mode & (UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, mode);
    }

    [Theory]
    [InlineData("0666")]
    [InlineData("0662")]
    [InlineData("0777")]
    public async Task A_world_writable_socket_mode_is_refused_in_process_and_by_the_daemon(string mode)
    {
        var path = SocketPath();
        var error = Assert.Throws<OptionsValidationException>(() => new RuntimeServer(new RuntimeServerOptions { SocketPath = path, SocketFileMode = mode }));
        Assert.Contains("SocketFileMode", error.Message, StringComparison.Ordinal);

        var work = Directory.CreateTempSubdirectory("worker-exposure-").FullName;
        await using var daemon = ManagedProcess.Start("runtime(bad mode)", BuildOutput.RuntimeDll, ["--socket", path],
            new Dictionary<string, string?> { ["Runtime__SocketFileMode"] = mode }, Path.Combine(work, "runtime.log"));
        Assert.True(await Eventually.TrueAsync(() => daemon.HasExited, TimeSpan.FromSeconds(30)), "the daemon started with a world-writable socket mode");
        Assert.Equal(78, daemon.ExitCode); // EX_CONFIG, docs/deployment.md#exit-codes
        // Its output is read by a pump that may still be catching up when the exit is seen.
        Assert.True(await Eventually.TrueAsync(() => daemon.Tail().Contains("lets any local user connect", StringComparison.Ordinal), TimeSpan.FromSeconds(10)), daemon.Tail());
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task The_allowlist_refuses_every_other_host_port_and_spelling()
    {
        var allowed = $"{_simulator.BaseAddress.Host}:{_simulator.BaseAddress.Port}";
        await using var server = new RuntimeServer(new RuntimeServerOptions { SocketPath = SocketPath(), AllowedHosts = { allowed } });
        await server.StartAsync(CancellationToken.None);
        await using var client = new RuntimeClient(new RuntimeClientOptions { SocketPath = server.SocketPath, DefaultTimeout = TimeSpan.FromSeconds(10) });

        var ok = await client.SendHttpAsync(HttpRequest.Get(new Uri(_simulator.BaseAddress, "v1/models").ToString()));
        Assert.Equal(200, ok.StatusCode);
        var port = _simulator.BaseAddress.Port;
        string[] refused =
        [
            $"http://127.0.0.1:{port + 1}/v1/models",
            $"http://localhost:{port}/v1/models",
            $"http://[::1]:{port}/v1/models",
            $"http://127.0.0.2:{port}/v1/models",
            "http://127.0.0.1/v1/models",
            $"https://127.0.0.1:{port + 2}/v1/models",
            "http://169.254.169.254/latest/meta-data/",
            $"http://127.0.0.1:{port}@evil.example/v1/models",
            $"http://evil.example/#@127.0.0.1:{port}",
            $"http://127.0.0.1.nip.io:{port}/v1/models",
        ];
        foreach (var url in refused)
        {
            var error = await Assert.ThrowsAsync<ConnectorException>(() => client.SendHttpAsync(HttpRequest.Get(url)));
            Assert.Equal(ErrorClass.InvalidRequest, error.ErrorClass);
            Assert.Contains("not allowed", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_redirect_is_returned_to_the_caller_not_followed_past_the_allowlist()
    {
        using var redirector = new TcpListener(IPAddress.Loopback, 0);
        redirector.Start();
        var redirectPort = ((IPEndPoint)redirector.LocalEndpoint).Port;
        var serve = Task.Run(async () =>
        {
            using var connection = await redirector.AcceptTcpClientAsync();
            var stream = connection.GetStream();
            var buffer = new byte[4096];
            _ = await stream.ReadAsync(buffer);
            await stream.WriteAsync(Encoding.ASCII.GetBytes(
                $"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{_simulator.BaseAddress.Port}/v1/models\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"));
        });
        await using var server = new RuntimeServer(new RuntimeServerOptions { SocketPath = SocketPath(), AllowedHosts = { $"127.0.0.1:{redirectPort}" } });
        await server.StartAsync(CancellationToken.None);
        await using var client = new RuntimeClient(new RuntimeClientOptions { SocketPath = server.SocketPath, DefaultTimeout = TimeSpan.FromSeconds(10) });

        var response = await client.SendHttpAsync(HttpRequest.Get($"http://127.0.0.1:{redirectPort}/start"));
        await serve;

        Assert.Equal(302, response.StatusCode);
        Assert.Equal(0, _simulator.Stats.TotalRequests);
    }

    [Fact]
    public async Task Tcp_listens_on_loopback_only_unless_told_otherwise()
    {
        await using var server = new RuntimeServer(new RuntimeServerOptions { ListenUnix = false, UseTcp = true, TcpPort = 0 });
        await server.StartAsync(CancellationToken.None);
        Assert.True(IPAddress.IsLoopback(server.TcpEndPoint!.Address), $"bound to {server.TcpEndPoint}");

        using (var local = new TcpClient())
        {
            await local.ConnectAsync(IPAddress.Loopback, server.TcpPort!.Value);
        }

        foreach (var address in NonLoopbackAddresses())
        {
            using var outside = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            var error = await Assert.ThrowsAsync<SocketException>(async () => await outside.ConnectAsync(address, server.TcpPort!.Value));
            Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
        }

        // Told otherwise: it binds where asked, and says loudly that anyone who reaches it may use it.
        var logs = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs));
        await using var open = new RuntimeServer(new RuntimeServerOptions { ListenUnix = false, UseTcp = true, TcpPort = 0, TcpBindAddress = "0.0.0.0" }, loggerFactory);
        await open.StartAsync(CancellationToken.None);
        Assert.Equal(IPAddress.Any, open.TcpEndPoint!.Address);
        Assert.Contains(logs.Entries, e => e.StartsWith("Warning", StringComparison.Ordinal) && e.Contains("not a loopback address", StringComparison.Ordinal));
    }

    private static IEnumerable<IPAddress> NonLoopbackAddresses() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.OperationalStatus == OperationalStatus.Up && i.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .Where(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
            .Take(3);

    private static string SocketPath() => Path.Combine("/tmp", $"wexp-{Convert.ToHexString(RandomNumberGenerator.GetBytes(5)).ToLowerInvariant()}.sock");
}
