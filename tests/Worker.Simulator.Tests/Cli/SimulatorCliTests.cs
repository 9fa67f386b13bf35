using Worker.Testing;

namespace Worker.Simulator.Tests.Cli;

/// <summary>The simulator executable's command-line conventions, on the real build output.</summary>
public sealed class SimulatorCliTests
{
    private const string Dll = "Worker.Simulator.dll";

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public async Task Help_prints_usage_on_stdout_and_exits_0(string option)
    {
        var (code, stdout, stderr) = await ChildProcess.RunAsync(Dll, [option]);
        Assert.Equal(0, code);
        Assert.Contains("Usage:", stdout, StringComparison.Ordinal);
        Assert.Contains("--urls", stdout, StringComparison.Ordinal);
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
    [InlineData("serve")]
    [InlineData("--Simulator:Faults:Rate")]
    public async Task Unknown_option_or_command_is_usage_on_stderr_exit_2_and_binds_nothing(string argument)
    {
        var port = ChildProcess.FreeTcpPort();
        var (code, stdout, stderr) = await ChildProcess.RunAsync(Dll, ["--urls", $"http://127.0.0.1:{port}", argument]);
        Assert.Equal(2, code);
        Assert.Contains(argument, stderr, StringComparison.Ordinal);
        Assert.Contains("Usage:", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening", stdout, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout);
        Assert.False(ChildProcess.IsListening(port));
    }

    [Theory]
    [InlineData("--Simulator:Faults:Rate=3", "Simulator:Faults:Rate")]
    [InlineData("--Simulator:Faults:Rate=often", "Simulator:Faults:Rate")]
    public async Task Invalid_configuration_is_one_line_and_exit_78(string argument, string key)
    {
        var port = ChildProcess.FreeTcpPort();
        var (code, stdout, stderr) = await ChildProcess.RunAsync(Dll, ["--urls", $"http://127.0.0.1:{port}", argument]);
        Assert.Equal(78, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Contains(key, line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_taken_port_is_a_fatal_error_exit_1_without_stack_trace()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var (code, _, stderr) = await ChildProcess.RunAsync(Dll, ["--urls", $"http://127.0.0.1:{port}"]);
        Assert.Equal(1, code);
        Assert.Contains("Simulator failed:", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Configuration_overrides_and_urls_start_the_simulator()
    {
        var port = ChildProcess.FreeTcpPort();
        await using var child = ChildProcess.Start(Dll, ["--urls", $"http://127.0.0.1:{port}", "--Simulator:Models:0", "only-model"]);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(5) };
        string? models = null;
        for (var attempt = 0; attempt < 150 && models is null && !child.HasExited; attempt++)
        {
            try
            {
                models = await http.GetStringAsync("v1/models");
            }
            catch (HttpRequestException)
            {
                await Task.Delay(100);
            }
        }

        Assert.True(models is not null, $"not started:\n{child.StandardOutput}\n{child.StandardError}");
        Assert.Contains("only-model", models, StringComparison.Ordinal);
        Assert.DoesNotContain("gpt-4o-mini", models, StringComparison.Ordinal);
    }
}
