using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Worker.Runtime.Configuration;

namespace Worker.Host;

internal static class EmbeddedRuntime
{
    /// <summary>
    /// Our connector runtime as a hosted service in this process. It binds the same <c>Runtime</c> section as the
    /// client (SocketPath, UseTcp, TcpPort), so both ends meet on one socket; the client still talks to it over that
    /// socket, exactly as to an external runtime.
    /// </summary>
    public static IServiceCollection AddEmbeddedRuntime(this IServiceCollection services, IConfiguration configuration) =>
        services.AddConnectorRuntime(configuration);
}
