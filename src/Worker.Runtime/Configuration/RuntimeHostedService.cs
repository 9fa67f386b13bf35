using Microsoft.Extensions.Hosting;
using Worker.Runtime.Server;

namespace Worker.Runtime.Configuration;

/// <summary>Runs the <see cref="RuntimeServer"/> for the host's lifetime; the host's stop token bounds the drain.</summary>
internal sealed class RuntimeHostedService : IHostedService
{
    private readonly RuntimeServer _server;

    public RuntimeHostedService(RuntimeServer server)
    {
        _server = server;
    }

    public Task StartAsync(CancellationToken cancellationToken) => _server.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => _server.StopAsync(cancellationToken);
}
