using Worker.Connector.OpenAi;
using Worker.Host.Configuration;
using Worker.Host.Endpoints;

namespace Worker.Host.Tests.Endpoints;

public sealed class ChatEndpointsTests
{
    private static ChatEndpoint Endpoint(string name, string provider, string defaultModel, params string[] models) =>
        new(name, provider, new StubClient(defaultModel, $"https://{name}.example/v1"), models.Where(m => m != "*").ToHashSet(), models.Length == 0 || models.Contains("*"));

    private static ChatEndpoints Router(Dictionary<string, List<string>>? fallbacks = null) => new(
        Endpoint("default", "openai", "gpt-4o-mini"),
        [Endpoint("claude", "anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5", "claude-haiku"), Endpoint("gemini", "gemini", "gemini-2.0-flash", "gemini-2.0-flash", "*")],
        fallbacks);

    private static string Names(IReadOnlyList<ChatRoute> routes) => string.Join(",", routes.Select(r => $"{r.Endpoint.Name}/{r.Model}"));

    [Fact]
    public void The_model_picks_the_endpoint_else_the_default()
    {
        var router = Router();
        Assert.Equal("claude/claude-haiku", Names(router.Resolve(null, "claude-haiku").Routes));
        Assert.Equal("gemini/gemini-2.0-flash", Names(router.Resolve(null, "gemini-2.0-flash").Routes));
        Assert.Equal("default/gpt-4o", Names(router.Resolve(null, "gpt-4o").Routes));
        Assert.Equal("default/gpt-4o-mini", Names(router.Resolve(null, null).Routes));
    }

    [Fact]
    public void An_explicit_endpoint_wins_and_its_default_model_fills_in()
    {
        var router = Router();
        Assert.Equal("gemini/claude-haiku", Names(router.Resolve("gemini", "claude-haiku").Routes));
        Assert.Equal("claude/claude-sonnet-4-5", Names(router.Resolve("claude", null).Routes));
        Assert.Equal("default/claude-haiku", Names(router.Resolve("default", "claude-haiku").Routes));
    }

    [Fact]
    public void Unknown_endpoints_and_unserved_models_are_refused()
    {
        var router = Router();
        var (routes, error) = router.Resolve("nowhere", "gpt-4o");
        Assert.Empty(routes);
        Assert.StartsWith("unknown_endpoint:", error, StringComparison.Ordinal);
        Assert.StartsWith("unknown_model:", router.Resolve("claude", "gpt-4o").Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Fallbacks_follow_the_primary_once_each()
    {
        var router = Router(new() { ["claude-sonnet-4-5"] = ["gemini/gemini-2.0-flash", "claude", "default/gpt-4o", "gemini/gemini-2.0-flash", "unknown"] });
        Assert.Equal("claude/claude-sonnet-4-5,gemini/gemini-2.0-flash,default/gpt-4o", Names(router.Resolve(null, "claude-sonnet-4-5").Routes));
        Assert.Equal("claude/claude-haiku", Names(router.Resolve(null, "claude-haiku").Routes));
    }

    [Fact]
    public void A_job_that_names_its_endpoint_is_pinned_there_without_fallbacks()
    {
        var router = Router(new() { ["claude-sonnet-4-5"] = ["gemini/gemini-2.0-flash", "default/gpt-4o"] });
        Assert.Equal("claude/claude-sonnet-4-5", Names(router.Resolve("claude", "claude-sonnet-4-5").Routes));
        Assert.Equal("claude/claude-sonnet-4-5,gemini/gemini-2.0-flash,default/gpt-4o", Names(router.Resolve(null, "claude-sonnet-4-5").Routes));
    }

    [Fact]
    public void Named_endpoints_are_built_per_provider_over_the_runtime()
    {
        var runtime = new Worker.Connector.Client.RuntimeClient(new Worker.Connector.Client.RuntimeClientOptions { SocketPath = "/tmp/unused.sock" });
        var anthropic = ChatEndpointFactory.Create("c", new LlmEndpointOptions { Provider = "anthropic", BaseUrl = "https://a.example/v1", Models = ["claude-x"], ApiKeyVariable = "MY_KEY" }, runtime, _ => "k");
        Assert.IsType<Worker.Connector.Anthropic.AnthropicMessagesClient>(anthropic.Client);
        Assert.Equal("claude-x", anthropic.Client.DefaultModel);
        Assert.False(anthropic.ServesAnyModel);
        var gemini = ChatEndpointFactory.Create("g", new LlmEndpointOptions { Provider = "gemini", BaseUrl = "https://g.example/v1beta", Model = "gemini-2.0-flash" }, runtime, _ => null);
        Assert.IsType<Worker.Connector.Gemini.GeminiClient>(gemini.Client);
        Assert.True(gemini.ServesAnyModel);
        Assert.Equal("g.example", gemini.Server?.Host);
    }

    private sealed class StubClient(string defaultModel, string endpoint) : IChatCompletionClient
    {
        public string DefaultModel => defaultModel;

        public string Endpoint => endpoint;

        public Task<ChatCompletion> CompleteAsync(ChatCompletionRequest request, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();
    }
}
