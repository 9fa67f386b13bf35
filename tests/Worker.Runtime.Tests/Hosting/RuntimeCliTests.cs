using Worker.Runtime.Tests.Support;

using Worker.Testing;

namespace Worker.Runtime.Tests.Hosting;

/// <summary>The runtime executable's command-line conventions, on the real build output.</summary>
public sealed class RuntimeCliTests
{
    private const string Dll = "Worker.Runtime.dll";

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task Help_prints_usage_on_stdout_and_exits_0(string option)
    {
        var (code, stdout, stderr) = await ChildProcess.RunAsync(Dll, [option]);
        Assert.Equal(0, code);
        Assert.Contains("Usage:", stdout, StringComparison.Ordinal);
        Assert.Contains("--tcp-port", stdout, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stderr);
    }

    [Fact]
    public async Task Version_prints_the_version_and_exits_0()
    {
        var (code, stdout, _) = await ChildProcess.RunAsync(Dll, ["--version"]);
        Assert.Equal(0, code);
        Assert.Matches(@"^\d+\.\d+\.\d+", stdout.Trim());
    }

    [Theory]
    [InlineData("--bogus")]
    [InlineData("start")]
    [InlineData("--tcp-port=notaport")]
    public async Task Unknown_option_or_command_is_usage_on_stderr_exit_2_and_binds_nothing(string argument)
    {
        var socket = TestRuntime.NewSocketPath();
        var port = ChildProcess.FreeTcpPort();
        var (code, stdout, stderr) = await ChildProcess.RunAsync(Dll, [argument], new Dictionary<string, string?>
        {
            ["VASTAR_SOCKET_PATH"] = socket,
            ["VASTAR_USE_TCP"] = "true",
            ["VASTAR_TCP_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        Assert.Equal(2, code);
        Assert.Contains("Usage:", stderr, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout);
        Assert.False(File.Exists(socket), "a usage error must not create the socket");
        Assert.False(ChildProcess.IsListening(port));
    }

    [Theory]
    [InlineData("--Runtime:MaxInFlight=0")]
    [InlineData("--Runtime:MaxInFlight=lots")]
    public async Task Invalid_configuration_is_one_line_and_exit_78(string argument)
    {
        var socket = TestRuntime.NewSocketPath();
        var (code, stdout, stderr) = await ChildProcess.RunAsync(Dll, ["--socket", socket, argument]);
        Assert.Equal(78, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("Invalid configuration:", line, StringComparison.Ordinal);
        Assert.Contains("Runtime:MaxInFlight", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(socket));
    }

    [Fact]
    public async Task A_socket_that_cannot_be_bound_is_a_fatal_error_exit_1()
    {
        var (code, _, stderr) = await ChildProcess.RunAsync(Dll, ["--socket", "/nonexistent-dir-for-test/x.sock"]);
        Assert.Equal(1, code);
        Assert.Contains("Connector runtime failed:", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tcp_port_alone_listens_on_tcp_only_and_creates_no_unix_socket()
    {
        var socket = TestRuntime.NewSocketPath();
        var port = ChildProcess.FreeTcpPort();
        await using var child = ChildProcess.Start(Dll, ["--tcp-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            new Dictionary<string, string?> { ["VASTAR_SOCKET_PATH"] = socket });
        await TestRuntime.EventuallyAsync(() => ChildProcess.IsListening(port) || child.HasExited, TimeSpan.FromSeconds(30), "the runtime listens on TCP");
        Assert.False(child.HasExited, child.StandardError);
        Assert.False(File.Exists(socket), $"--tcp-port alone also bound the Unix socket {socket}");
    }

    [Fact]
    public async Task Tcp_port_with_socket_listens_on_both()
    {
        var socket = TestRuntime.NewSocketPath();
        var port = ChildProcess.FreeTcpPort();
        await using var child = ChildProcess.Start(Dll, ["--socket", socket, "--tcp-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        try
        {
            await TestRuntime.EventuallyAsync(() => (ChildProcess.IsListening(port) && File.Exists(socket)) || child.HasExited, TimeSpan.FromSeconds(30), "the runtime listens on both");
            Assert.False(child.HasExited, child.StandardError);
        }
        finally
        {
            await child.DisposeAsync();
            File.Delete(socket); // killed, so it could not remove its socket file itself
        }
    }
}
