using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Worker.Host;

internal static class EmbeddedRuntime
{
    /// <summary>Our connector runtime as a hosted service in this process, on the socket the client uses.</summary>
    public static IServiceCollection AddEmbeddedRuntime(this IServiceCollection services, IConfiguration configuration)
    {
        // RUNTIME-REF: wired to Worker.Runtime's AddConnectorRuntime once that project lands.
        _ = configuration;
        return services;
    }
}
