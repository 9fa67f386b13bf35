using Worker.Connector.Client;
using Worker.Runtime.Configuration;
using Worker.Runtime.Server;
using Worker.Simulator.Options;

namespace Worker.Simulator.Tests.Providers;

/// <summary>A real simulator (with an API key) behind a real connector runtime on a temp socket, and a client to it.</summary>
internal sealed class ProviderStack : IAsyncDisposable
{
    public const string ApiKey = "sk-provider-test-key-0123456789abcdef";

    private ProviderStack(SimulatorServer simulator, RuntimeServer runtime, RuntimeClient client)
    {
        Simulator = simulator;
        Runtime = runtime;
        Client = client;
    }

    public SimulatorServer Simulator { get; }

    public RuntimeServer Runtime { get; }

    public RuntimeClient Client { get; }

    public string BaseUrl(string path) => new Uri(Simulator.BaseAddress, path).ToString();

    public static async Task<ProviderStack> StartAsync(Action<SimulatorOptions>? configure = null)
    {
        var options = new SimulatorOptions { ApiKey = ApiKey };
        configure?.Invoke(options);
        var simulator = await SimulatorServer.StartAsync(options);
        var socket = Path.Combine(Path.GetTempPath(), $"wpv-{Guid.NewGuid():N}"[..16] + ".sock");
        var runtime = new RuntimeServer(new RuntimeServerOptions { SocketPath = socket });
        await runtime.StartAsync(CancellationToken.None);
        var client = new RuntimeClient(new RuntimeClientOptions { SocketPath = socket, UseTcp = false, DefaultTimeout = TimeSpan.FromSeconds(30) });
        return new ProviderStack(simulator, runtime, client);
    }

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await Runtime.DisposeAsync();
        await Simulator.DisposeAsync();
    }
}
