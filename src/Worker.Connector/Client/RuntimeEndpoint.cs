using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Worker.Connector.Client;

/// <summary>A resolved runtime address: a Unix socket path or a TCP host and port.</summary>
public sealed record RuntimeEndpoint(string? SocketPath, string? TcpHost, int TcpPort)
{
    public const string SocketPathVariable = "VASTAR_SOCKET_PATH";
    public const string UseTcpVariable = "VASTAR_USE_TCP";
    public const string TcpPortVariable = "VASTAR_TCP_PORT";

    public bool IsTcp => SocketPath is null;

    /// <summary>Options first, then the original SDKs' environment variables, then their defaults.</summary>
    public static RuntimeEndpoint Resolve(RuntimeClientOptions options, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        environment ??= Environment.GetEnvironmentVariable;
        var useTcp = options.UseTcp ?? IsTrue(environment(UseTcpVariable));
        if (useTcp)
        {
            var port = options.TcpPort ?? ParsePort(environment(TcpPortVariable)) ?? RuntimeClientOptions.DefaultTcpPort;
            return new RuntimeEndpoint(null, options.TcpHost, port);
        }

        var path = NonEmpty(options.SocketPath) ?? NonEmpty(environment(SocketPathVariable)) ?? RuntimeClientOptions.DefaultSocketPath;
        return new RuntimeEndpoint(path, null, 0);
    }

    public EndPoint ToEndPoint() => IsTcp
        ? (IPAddress.TryParse(TcpHost, out var ip) ? new IPEndPoint(ip, TcpPort) : new DnsEndPoint(TcpHost!, TcpPort))
        : new UnixDomainSocketEndPoint(SocketPath!);

    public Socket CreateSocket() => IsTcp
        ? new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true }
        : new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);

    public override string ToString() => IsTcp ? $"tcp://{TcpHost}:{TcpPort}" : SocketPath!;

    private static bool IsTrue(string? value) =>
        value is not null && (value.Equals("true", StringComparison.OrdinalIgnoreCase) || value == "1" || value.Equals("yes", StringComparison.OrdinalIgnoreCase));

    private static int? ParsePort(string? value) =>
        int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536 ? port : null;

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
