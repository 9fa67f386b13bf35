using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Worker.Connector.Client;
using Worker.Connector.OpenAi;

namespace Worker.Connector;

public static class ConnectorServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="RuntimeClient"/> (options from the <c>Runtime</c> section) and <see cref="OpenAiChatClient"/>
    /// (options from the <c>Llm</c> section), both validated at start.
    /// </summary>
    public static IServiceCollection AddConnectorClient(
        this IServiceCollection services,
        IConfiguration? configuration = null,
        Action<RuntimeClientOptions>? configureRuntime = null,
        Action<OpenAiOptions>? configureLlm = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var runtime = services.AddOptions<RuntimeClientOptions>();
        var llm = services.AddOptions<OpenAiOptions>();
        if (configuration is not null)
        {
            runtime.Bind(configuration.GetSection(RuntimeClientOptions.SectionName));
            llm.Bind(configuration.GetSection(OpenAiOptions.SectionName));
        }

        if (configureRuntime is not null)
        {
            runtime.Configure(configureRuntime);
        }

        if (configureLlm is not null)
        {
            llm.Configure(configureLlm);
        }

        runtime.ValidateDataAnnotations().ValidateOnStart();
        llm.ValidateDataAnnotations().ValidateOnStart();
        // A runtime registered as ILocalRuntime (the worker's embedded one) is called without the socket.
        services.TryAddSingleton(sp => new RuntimeClient(
            sp.GetRequiredService<IOptions<RuntimeClientOptions>>().Value, sp.GetService<ILogger<RuntimeClient>>(), sp.GetService<TimeProvider>(), sp.GetService<ILocalRuntime>()));
        services.TryAddSingleton(sp => new OpenAiChatClient(sp.GetRequiredService<RuntimeClient>(), sp.GetRequiredService<IOptions<OpenAiOptions>>()));
        return services;
    }
}
