using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Worker.Runtime.Configuration;
using Worker.Runtime.Hosting;

namespace Worker.Runtime;

/// <summary>
/// The standalone daemon: <c>dotnet run --project src/Worker.Runtime [-- --socket PATH] [--tcp-port N]</c>.
/// Settings come from appsettings.json next to the binary, environment variables (<c>Runtime__MaxInFlight</c>,
/// <c>VASTAR_SOCKET_PATH</c>...) and the command line; under systemd it logs for the journal and reports readiness.
/// </summary>
internal static class Program
{
    private static readonly Dictionary<string, string> SwitchMappings = new(StringComparer.Ordinal)
    {
        ["--socket"] = "Runtime:SocketPath",
        ["--tcp-port"] = "Runtime:TcpPort",
    };

    public static async Task<int> Main(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = args,

            // appsettings.json is looked up next to the binary, not in whatever directory the daemon is started from.
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddCommandLine(args, SwitchMappings);
        if (args.Any(a => a.StartsWith("--tcp-port", StringComparison.Ordinal)))
        {
            // Asking for a TCP port means listening on TCP.
            builder.Configuration.AddInMemoryCollection([new("Runtime:UseTcp", "true")]);
        }

        builder.Services.AddSystemd();
        builder.Services.AddConnectorRuntime(builder.Configuration);
        builder.Services.AddRuntimeHealthEndpoint(builder.Configuration);

        // The host must wait for the drain: its own stop timeout bounds StopAsync.
        builder.Services.AddOptions<HostOptions>().Configure<IConfiguration>((host, configuration) =>
        {
            var drain = configuration.GetValue<TimeSpan?>("Runtime:DrainTimeout") ?? new RuntimeServerOptions().DrainTimeout;
            host.ShutdownTimeout = drain + TimeSpan.FromSeconds(5);
        });

        try
        {
            using var host = builder.Build();
            await host.RunAsync();
            return 0;
        }
        catch (OptionsValidationException ex)
        {
            await Console.Error.WriteLineAsync($"Invalid configuration: {string.Join(" ", ex.Failures)}");
            return 2;
        }
        catch (InvalidOperationException ex)
        {
            await Console.Error.WriteLineAsync($"Connector runtime could not start: {ex.Message}");
            return 1;
        }
    }
}
