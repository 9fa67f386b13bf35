using Worker.Simulator.Endpoints;
using Worker.Simulator.Http;

namespace Worker.Simulator;

/// <summary>Maps the simulator's routes onto any ASP.NET Core app.</summary>
public static class SimulatorEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps <c>/v1/chat/completions</c>, <c>/v1/models</c>, <c>/v1/messages</c> (Anthropic), <c>/v1beta/models/{model}:generateContent</c> and
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
        var anthropic = new Lazy<AnthropicEndpoint>(services.GetRequiredService<AnthropicEndpoint>);
        var generate = new Lazy<GenerateEndpoint>(services.GetRequiredService<GenerateEndpoint>);
        var stats = new Lazy<StatsEndpoints>(services.GetRequiredService<StatsEndpoints>);

        // Every answer carries x-request-id, also when mapped into someone else's app without our middleware.
        endpoints.MapPost("/v1/chat/completions", WithRequestId(context => chat.Value.HandleAsync(context)));
        endpoints.MapPost("/chat/completions", WithRequestId(context => chat.Value.HandleAsync(context))); // for base URLs without /v1
        endpoints.MapGet("/v1/models", WithRequestId(context => models.Value.ListAsync(context)));
        endpoints.MapGet("/v1/models/{id}", WithRequestId(context => models.Value.GetAsync(context)));
        endpoints.MapPost("/v1beta/models/{*rest}", WithRequestId(context => gemini.Value.HandleAsync(context)));
        endpoints.MapPost("/v1/models/{*rest}", WithRequestId(context => gemini.Value.HandleAsync(context)));
        endpoints.MapPost("/v1/messages", WithRequestId(context => anthropic.Value.HandleAsync(context)));
        endpoints.MapPost("/messages", WithRequestId(context => anthropic.Value.HandleAsync(context))); // for base URLs without /v1
        endpoints.MapPost("/generate", WithRequestId(context => generate.Value.HandleAsync(context)));
        endpoints.MapGet("/health", WithRequestId(HealthEndpoint.GetAsync));
        endpoints.MapGet("/stats", WithRequestId(context => stats.Value.GetAsync(context)));
        endpoints.MapPost("/stats/reset", WithRequestId(context => stats.Value.ResetAsync(context)));
        endpoints.MapDelete("/stats", WithRequestId(context => stats.Value.ResetAsync(context)));
        return endpoints;
    }

    private static RequestDelegate WithRequestId(RequestDelegate handler) => context =>
    {
        RequestIds.Ensure(context);
        return handler(context);
    };
}
