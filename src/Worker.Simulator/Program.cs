using Microsoft.Extensions.Options;
using Worker.Simulator.Hosting;

// The simulator executable: dotnet run --project src/Worker.Simulator -- --urls http://127.0.0.1:4545
await using var app = SimulatorApplication.CreateFromArgs(args);
try
{
    await app.StartAsync();
}
catch (Exception e) when (e is OptionsValidationException or IOException)
{
    // Configuration mistakes and busy ports: one clear line, no stack trace.
    await Console.Error.WriteLineAsync($"Simulator failed to start: {e.Message}");
    return 2;
}

await app.WaitForShutdownAsync();
return 0;
