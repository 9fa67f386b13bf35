using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using RabbitMQ.Client;
using Worker.Hosting;
using Worker.Testing;

namespace Worker.Chaos.Tests;

/// <summary>
/// The worker executable as systemd and Kubernetes see it: what it does with a command line it does not understand,
/// and the exit codes a supervisor acts on (src/Shared/ExitCodes.cs).
/// </summary>
[Collection(RabbitMqBrokerCollection.Name)]
public sealed class HostCommandLineTests(RabbitMqBrokerFixture broker)
{
    [Fact]
    public async Task A_mistyped_command_prints_usage_and_exits_2_without_touching_the_broker()
    {
        // A listener where the broker would be: the worker must not even connect to it.
        using var fakeBroker = new TcpListener(IPAddress.Loopback, 0);
        fakeBroker.Start();
        var uri = $"amqp://guest:guest@127.0.0.1:{((IPEndPoint)fakeBroker.LocalEndpoint).Port}/";

        foreach (var args in new[] { new[] { "enqeue", "hi", "--cuont", "3" }, ["run", "--cuont", "3"], ["enqueue", "hi", "--cuont", "3"] })
        {
            var run = await RunAsync(args, ("RabbitMq__Uri", uri));
            Assert.Equal(ExitCodes.Usage, run.ExitCode);
            Assert.Contains(args.First(a => a is "enqeue" or "--cuont"), run.Error, StringComparison.Ordinal);
            Assert.DoesNotContain("Application started", run.Output, StringComparison.Ordinal);
        }

        Assert.False(fakeBroker.Pending(), "the worker connected to the broker address");
    }

    [Fact]
    public async Task An_unknown_chat_provider_or_a_bad_enqueue_endpoint_exits_2_without_touching_the_broker()
    {
        using var fakeBroker = new TcpListener(IPAddress.Loopback, 0);
        fakeBroker.Start();
        var uri = $"amqp://guest:guest@127.0.0.1:{((IPEndPoint)fakeBroker.LocalEndpoint).Port}/";

        var chat = await RunAsync(["chat", "--provider", "azure"]);
        Assert.Equal(ExitCodes.Usage, chat.ExitCode);
        Assert.Contains("azure", chat.Error, StringComparison.Ordinal);

        var enqueue = await RunAsync(["enqueue", "hi", "--endpoint", "no such/name"], ("RabbitMq__Uri", uri));
        Assert.Equal(ExitCodes.Usage, enqueue.ExitCode);
        Assert.Contains("--endpoint", enqueue.Error, StringComparison.Ordinal);
        Assert.False(fakeBroker.Pending(), "the worker connected to the broker address");
    }

    [Fact]
    public async Task Help_and_version_exit_0()
    {
        var help = await RunAsync(["--help"]);
        Assert.Equal(ExitCodes.Ok, help.ExitCode);
        Assert.Contains("enqueue", help.Output, StringComparison.Ordinal);
        var version = await RunAsync(["--version"]);
        Assert.Equal(ExitCodes.Ok, version.ExitCode);
        Assert.Matches(@"\d+\.\d+", version.Output);
    }

    [Fact]
    public async Task A_configuration_error_exits_78_naming_the_key_in_one_line()
    {
        var run = await RunAsync(["run", "--Worker:Concurrency=0"]);
        Assert.Equal(ExitCodes.Configuration, run.ExitCode);
        var line = Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("Worker:Concurrency", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("nonsense", "Worker:HealthUrl: 'nonsense' must be http://host:port")]
    [InlineData("ftp://x", "Worker:HealthUrl: 'ftp://x' must be http://host:port")]
    [InlineData("in use", "Worker:HealthUrl: cannot listen on http://127.0.0.1:")]
    public async Task A_bad_health_url_exits_78_naming_the_key_in_one_line_before_connecting(string value, string expected)
    {
        // A listener where the broker would be: a configuration error must stop the worker before it connects.
        using var fakeBroker = new TcpListener(IPAddress.Loopback, 0);
        fakeBroker.Start();
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var url = value == "in use" ? $"http://127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}" : value;

        var run = await RunAsync(
            ["run", $"--Worker:HealthUrl={url}", "--Runtime:SocketPath=" + Path.Combine(Path.GetTempPath(), $"health-{Guid.NewGuid():N}"[..15] + ".sock")],
            ("RabbitMq__Uri", $"amqp://guest:guest@127.0.0.1:{((IPEndPoint)fakeBroker.LocalEndpoint).Port}/"));

        Assert.Equal(ExitCodes.Configuration, run.ExitCode);
        var line = Assert.Single(run.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("Configuration error: " + expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Output + run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Application started", run.Output, StringComparison.Ordinal);
        Assert.False(fakeBroker.Pending(), "the worker connected to the broker address");
    }

    [Fact]
    public async Task A_consumer_that_cannot_start_ends_the_process_with_a_non_zero_exit()
    {
        // The jobs queue exists as a classic queue; the worker declares it as a quorum queue: PRECONDITION_FAILED,
        // which no retry can fix. The worker must exit non-zero (systemd's Restart=on-failure acts on it), not 0.
        var queue = broker.UniqueName("fatal");
        await using (var connection = await broker.CreateConnectionFactory().CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync())
        {
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        }

        var run = await RunAsync(
            ["run", $"--RabbitMq:JobsQueue={queue}", "--RabbitMq:ResultsQueue=", "--Runtime:SocketPath=" + Path.Combine(Path.GetTempPath(), $"fatal-{Guid.NewGuid():N}"[..14] + ".sock")],
            ("RabbitMq__Uri", broker.AmqpUri.ToString()));
        Assert.Equal(ExitCodes.Fatal, run.ExitCode);
        Assert.Contains("Fatal: RabbitMqJobSource stopped", run.Error, StringComparison.Ordinal);
        Assert.Contains("PRECONDITION_FAILED", run.Output + run.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", run.Error, StringComparison.Ordinal);

        await using var cleanup = await broker.CreateConnectionFactory().CreateConnectionAsync();
        await using var cleanupChannel = await cleanup.CreateChannelAsync();
        await cleanupChannel.QueueDeleteAsync(queue);
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string[] args, params (string Name, string Value)[] environment)
    {
        var start = new ProcessStartInfo(BuildOutput.DotnetHost)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(BuildOutput.WorkerHostDll)!,
        };
        start.ArgumentList.Add(BuildOutput.WorkerHostDll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"Worker.Host {string.Join(' ', args)} did not exit within 60 s");
        }

        return (process.ExitCode, await output, await error);
    }
}
