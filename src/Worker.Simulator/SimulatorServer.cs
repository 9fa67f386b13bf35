using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Worker.Simulator.Hosting;
using Worker.Simulator.Options;
using Worker.Simulator.Stats;

namespace Worker.Simulator;

/// <summary>
/// An in-process simulator on real Kestrel, for tests and other projects:
/// <c>await using var sim = await SimulatorServer.StartAsync(); var http = new HttpClient { BaseAddress = sim.BaseAddress };</c>
/// </summary>
public sealed class SimulatorServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _disposed;

    private SimulatorServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
        Stats = app.Services.GetRequiredService<SimulatorStats>();
    }

    /// <summary>The bound address with the actual port (port 0 resolved), ending with '/'.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The live counters, the same object <c>GET /stats</c> reports.</summary>
    public SimulatorStats Stats { get; }

    /// <summary>Starts a simulator.</summary>
    /// <param name="options">Options (copied); null for defaults. Invalid values throw <see cref="Microsoft.Extensions.Options.OptionsValidationException"/>.</param>
    /// <param name="url">Where to listen; port 0 picks a free port. Use 127.0.0.1, not localhost, with port 0.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static async Task<SimulatorServer> StartAsync(SimulatorOptions? options = null, string url = "http://127.0.0.1:0", CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        var app = SimulatorApplication.CreateEmbedded(options ?? new SimulatorOptions(), url);
        try
        {
            await app.StartAsync(cancellationToken);
            var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
            var address = addresses.FirstOrDefault() ?? throw new InvalidOperationException("The simulator started without a bound address.");
            return new SimulatorServer(app, new Uri(address.EndsWith('/') ? address : address + "/"));
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops the server; in-flight hangs are aborted.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await _app.StopAsync(CancellationToken.None);
        }
        finally
        {
            await _app.DisposeAsync();
        }
    }
}
