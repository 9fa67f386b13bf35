using System.CommandLine;
using Microsoft.Extensions.Options;
using Worker.Hosting;
using Worker.Simulator.Hosting;
using Worker.Simulator.Options;

// The simulator executable: dotnet run --project src/Worker.Simulator -- --urls http://127.0.0.1:4545
// Exit codes: 0 stopped, 1 fatal error (e.g. the port is taken), 2 usage error, 78 invalid configuration.
var urls = new Option<string?>("--urls") { Description = $"Where to listen, ';'-separated (default {SimulatorApplication.DefaultUrl}, or ASPNETCORE_URLS).", HelpName = "URLS" };
var root = new RootCommand("OpenAI-compatible endpoint simulator with deterministic answers, latency and fault injection. "
    + "Settings: --Simulator:Key=value (e.g. --Simulator:Faults:Rate=0.1), Simulator__Key environment variables or appsettings.json; see docs/simulator.md.")
{
    urls,
};

var cli = Worker.Hosting.CommandLine.Parse(root, args, Console.Out, Console.Error);
if (cli.ExitCode is { } exit)
{
    return exit;
}

var hostArgs = cli.ConfigurationArguments.ToList();
if (cli.Parse!.GetValue(urls) is { } listen)
{
    hostArgs.Add($"--urls={listen}");
}

try
{
    await using var app = SimulatorApplication.CreateFromArgs([.. hostArgs]);

    // Bind and validate before starting, so a bad value is one line here rather than a logged stack trace.
    _ = app.Services.GetRequiredService<IOptions<SimulatorOptions>>().Value;
    await app.StartAsync();
    await app.WaitForShutdownAsync();
    return ExitCodes.Success;
}
catch (OptionsValidationException e)
{
    await Console.Error.WriteLineAsync($"Invalid configuration: {string.Join(" ", e.Failures)}");
    return ExitCodes.Configuration;
}
catch (InvalidOperationException e) when (e.InnerException is FormatException or ArgumentException || e.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal))
{
    // A value of the wrong type (Simulator:Faults:Rate=often): the binder's message names the key.
    await Console.Error.WriteLineAsync($"Invalid configuration: {e.Message}");
    return ExitCodes.Configuration;
}
#pragma warning disable CA1031 // The executable's last line of defence: one line on stderr and exit 1, never a stack trace.
catch (Exception e)
#pragma warning restore CA1031
{
    await Console.Error.WriteLineAsync($"Simulator failed: {e.Message}");
    return ExitCodes.Fatal;
}
