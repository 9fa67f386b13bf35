using Worker.Simulator.Endpoints;

namespace Worker.Simulator;

/// <summary>Maps the simulator's routes onto any ASP.NET Core app.</summary>
public static class SimulatorEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>/v1/chat/completions</c>, <c>/v1/models</c>, <c>/v1beta/models/{model}:generateContent</c> and
    /// <c>:streamGenerateContent</c>, <c>/generate</c>, <c>/health</c> and <c>/stats</c>. Requires
    /// <c>services.AddSimulator(...)</c>. Handlers are plain <see cref="RequestDelegate"/>s (no parameter binding).
    /// </summary>
    public static IEndpointRouteBuilder MapSimulatorEndpoints(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);

        // Resolved on first use, not here: resolving reads the options, and invalid options must fail at start-up
        // (ValidateOnStart) rather than while the app is being built.
        var services = endpoints.ServiceProvider;
        var chat = new Lazy<ChatCompletionsEndpoint>(services.GetRequiredService<ChatCompletionsEndpoint>);
        var models = new Lazy<ModelsEndpoint>(services.GetRequiredService<ModelsEndpoint>);
        var gemini = new Lazy<GeminiEndpoint>(services.GetRequiredService<GeminiEndpoint>);
        var generate = new Lazy<GenerateEndpoint>(services.GetRequiredService<GenerateEndpoint>);
        var stats = new Lazy<StatsEndpoints>(services.GetRequiredService<StatsEndpoints>);

        endpoints.MapPost("/v1/chat/completions", context => chat.Value.HandleAsync(context));
        endpoints.MapPost("/chat/completions", context => chat.Value.HandleAsync(context)); // for base URLs without /v1
        endpoints.MapGet("/v1/models", context => models.Value.ListAsync(context));
        endpoints.MapGet("/v1/models/{id}", context => models.Value.GetAsync(context));
        endpoints.MapPost("/v1beta/models/{*rest}", context => gemini.Value.HandleAsync(context));
        endpoints.MapPost("/v1/models/{*rest}", context => gemini.Value.HandleAsync(context));
        endpoints.MapPost("/generate", context => generate.Value.HandleAsync(context));
        endpoints.MapGet("/health", HealthEndpoint.GetAsync);
        endpoints.MapGet("/stats", context => stats.Value.GetAsync(context));
        endpoints.MapPost("/stats/reset", context => stats.Value.ResetAsync(context));
        endpoints.MapDelete("/stats", context => stats.Value.ResetAsync(context));
        return endpoints;
    }
}
