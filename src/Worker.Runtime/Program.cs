using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Worker.Hosting;
using Worker.Runtime.Configuration;
using Worker.Runtime.Hosting;

namespace Worker.Runtime;

/// <summary>
/// The standalone daemon: <c>dotnet run --project src/Worker.Runtime [-- --socket PATH] [--tcp-port N]</c>.
/// Settings come from appsettings.json next to the binary, environment variables (<c>Runtime__MaxInFlight</c>,
/// <c>VASTAR_SOCKET_PATH</c>...) and the command line (<c>--Runtime:MaxInFlight=64</c>); under systemd it logs for the
/// journal and reports readiness. Exit codes: 0 stopped, 1 fatal error, 2 usage error, 78 invalid configuration.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var socket = new Option<string?>("--socket") { Description = "Unix socket path (default: VASTAR_SOCKET_PATH, else /tmp/vastar-connector-runtime.sock).", HelpName = "PATH" };
        var tcpPort = new Option<int?>("--tcp-port") { Description = "Listen on TCP 127.0.0.1:PORT instead of the Unix socket (add --socket for both).", HelpName = "PORT" };
        var root = new RootCommand("Connector runtime (Vastar IPC compatible): performs outbound HTTP for clients on a Unix socket or TCP. "
            + "Other settings: --Runtime:Key=value (e.g. --Runtime:MaxInFlight=64), Runtime__Key environment variables or appsettings.json.")
        {
            socket,
            tcpPort,
        };

        var cli = Worker.Hosting.CommandLine.Parse(root, args, Console.Out, Console.Error);
        if (cli.ExitCode is { } exit)
        {
            return exit;
        }

        try
        {
            using var host = Build(cli, cli.Parse!.GetValue(socket), cli.Parse.GetValue(tcpPort));

            // Bind and validate before starting, so a bad value is one line here rather than a logged stack trace.
            _ = host.Services.GetRequiredService<IOptions<RuntimeServerOptions>>().Value;
            await host.RunAsync();
            return ExitCodes.Success;
        }
        catch (OptionsValidationException ex)
        {
            await Console.Error.WriteLineAsync($"Invalid configuration: {string.Join(" ", ex.Failures)}");
            return ExitCodes.Configuration;
        }
        catch (InvalidOperationException ex) when (ex.InnerException is FormatException or OverflowException || ex.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal))
        {
            // A value of the wrong type (Runtime:MaxInFlight=lots): the binder's message names the key.
            await Console.Error.WriteLineAsync($"Invalid configuration: {ex.Message}");
            return ExitCodes.Configuration;
        }
#pragma warning disable CA1031 // The daemon's last line of defence: one line on stderr and exit 1, never a stack trace.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            await Console.Error.WriteLineAsync($"Connector runtime failed: {ex.Message}");
            return ExitCodes.Fatal;
        }
    }

    private static IHost Build(CommandLineOutcome cli, string? socketPath, int? tcpPort)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = [.. cli.ConfigurationArguments],

            // appsettings.json is looked up next to the binary, not in whatever directory the daemon is started from.
            ContentRootPath = AppContext.BaseDirectory,
        });

        var overrides = new Dictionary<string, string?>();
        if (socketPath is not null)
        {
            overrides["Runtime:SocketPath"] = socketPath;
        }

        if (tcpPort is { } port)
        {
            // Asking for a TCP port means listening on TCP, and only there unless a socket was asked for as well.
            overrides["Runtime:TcpPort"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            overrides["Runtime:UseTcp"] = "true";
            if (socketPath is null)
            {
                overrides["Runtime:ListenUnix"] = "false";
            }
        }

        builder.Configuration.AddInMemoryCollection(overrides);
        builder.Services.AddSystemd();
        builder.Services.AddConnectorRuntime(builder.Configuration);
        builder.Services.AddRuntimeTelemetry(builder.Configuration);
        builder.Services.AddRuntimeHealthEndpoint(builder.Configuration);

        // The host must wait for the drain: its own stop timeout bounds StopAsync.
        builder.Services.AddOptions<HostOptions>().Configure<IConfiguration>((host, configuration) =>
        {
            var drain = configuration.GetValue<TimeSpan?>("Runtime:DrainTimeout") ?? new RuntimeServerOptions().DrainTimeout;
            host.ShutdownTimeout = drain + TimeSpan.FromSeconds(5);
        });

        return builder.Build();
    }
}
