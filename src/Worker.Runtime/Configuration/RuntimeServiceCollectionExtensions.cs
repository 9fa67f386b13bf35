using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Worker.Runtime.Server;

namespace Worker.Runtime.Configuration;

/// <summary>Registers the connector runtime in a host, so it runs in-process next to whatever else the host runs.</summary>
public static class RuntimeServiceCollectionExtensions
{
    /// <summary>
    /// Adds the runtime as a hosted service. <paramref name="configuration"/> is the root configuration: its
    /// <c>Runtime</c> section is bound. <paramref name="configure"/> runs after binding. The options are validated
    /// when the host starts, and a bad value stops it with a message naming the key. The <see cref="RuntimeServer"/>
    /// is a singleton, so the host can read <see cref="RuntimeServer.SocketPath"/> / <see cref="RuntimeServer.TcpPort"/>.
    /// </summary>
    public static IServiceCollection AddConnectorRuntime(this IServiceCollection services, IConfiguration? configuration = null, Action<RuntimeServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<RuntimeServerOptions>();
        if (configuration is not null)
        {
            options.Bind(configuration.GetSection(RuntimeServerOptions.SectionName));
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RuntimeServerOptions>, RuntimeServerOptionsValidator>());
        services.TryAddSingleton(static provider => new RuntimeServer(
            provider.GetRequiredService<IOptions<RuntimeServerOptions>>().Value,
            provider.GetService<ILoggerFactory>(),
            provider.GetService<IMeterFactory>()));
        services.AddHostedService<RuntimeHostedService>();
        return services;
    }

    /// <summary>Adds the runtime configured in code only.</summary>
    public static IServiceCollection AddConnectorRuntime(this IServiceCollection services, Action<RuntimeServerOptions> configure) =>
        services.AddConnectorRuntime(configuration: null, configure);
}
