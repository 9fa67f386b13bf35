using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Worker.Simulator.Endpoints;
using Worker.Simulator.Faults;
using Worker.Simulator.Http;
using Worker.Simulator.Limits;
using Worker.Simulator.Options;
using Worker.Simulator.Stats;

namespace Worker.Simulator;

/// <summary>Registers the simulator's services.</summary>
public static class SimulatorServiceCollectionExtensions
{
    /// <summary>
    /// Adds the simulator, its options bound from the <c>Simulator</c> section of <paramref name="configuration"/>
    /// (when given) and validated at start-up: an invalid value stops the host with a message naming the key.
    /// </summary>
    public static IServiceCollection AddSimulator(this IServiceCollection services, IConfiguration? configuration = null) =>
        services.AddSimulator(configuration, configure: null);

    /// <summary>Adds the simulator with options set in code (applied after <paramref name="configuration"/>).</summary>
    public static IServiceCollection AddSimulator(this IServiceCollection services, IConfiguration? configuration, Action<SimulatorOptions>? configure)
    {
        ArgumentNullException.ThrowIfNull(services);

        var options = services.AddOptions<SimulatorOptions>();
        if (configuration is not null)
        {
            options.Bind(configuration.GetSection(SimulatorOptions.SectionName));
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SimulatorOptions>, SimulatorOptionsValidator>());

        services.AddRoutingCore();
        services.AddLogging();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SimulatorStats>();
        services.TryAddSingleton<FaultInjector>();
        services.TryAddSingleton<RateLimiter>();
        services.TryAddSingleton<GenerationSlots>();
        services.TryAddSingleton<ApiKeyCheck>();
        services.TryAddSingleton<SimDirectiveReader>();
        services.TryAddSingleton<CompletionIdGenerator>();
        services.TryAddSingleton<GenerationGate>();
        services.TryAddSingleton<ChatCompletionsEndpoint>();
        services.TryAddSingleton<GeminiEndpoint>();
        services.TryAddSingleton<AnthropicEndpoint>();
        services.TryAddSingleton<GenerateEndpoint>();
        services.TryAddSingleton<ModelsEndpoint>();
        services.TryAddSingleton<KnownModels>();
        services.TryAddSingleton<StatsEndpoints>();
        return services;
    }
}
