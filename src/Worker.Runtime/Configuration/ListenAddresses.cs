using System.Net;
using Worker.Connector.Client;

namespace Worker.Runtime.Configuration;

/// <summary>
/// Where the runtime listens, resolved the way the client resolves where to connect (<see cref="RuntimeEndpoint.Resolve"/>):
/// options first, then <c>VASTAR_SOCKET_PATH</c> / <c>VASTAR_USE_TCP</c> / <c>VASTAR_TCP_PORT</c>, then the defaults.
/// </summary>
internal sealed record ListenAddresses(string? SocketPath, IPEndPoint? TcpEndPoint)
{
    public static ListenAddresses Resolve(RuntimeServerOptions options, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        string? socketPath = null;
        if (options.ListenUnix)
        {
            socketPath = RuntimeEndpoint.Resolve(new RuntimeClientOptions { SocketPath = options.SocketPath, UseTcp = false }, environment).SocketPath;
        }

        IPEndPoint? tcp = null;
        var useTcp = RuntimeEndpoint.Resolve(new RuntimeClientOptions { UseTcp = options.UseTcp }, environment).IsTcp;
        if (useTcp)
        {
            var port = RuntimeEndpoint.Resolve(new RuntimeClientOptions { UseTcp = true, TcpPort = options.TcpPort }, environment).TcpPort;
            tcp = new IPEndPoint(IPAddress.TryParse(options.TcpBindAddress, out var address) ? address : IPAddress.Loopback, port);
        }

        return new ListenAddresses(socketPath, tcp);
    }
}
