using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Worker.Connector.OpenAi;
using Worker.Host.Configuration;
using Worker.Runtime.Configuration;

namespace Worker.Host.Tests.Configuration;

public sealed class EndpointOptionsTests
{
    private static string Failures(Dictionary<string, string?> settings)
    {
        var options = new LlmHostOptions();
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(LlmHostOptions.SectionName).Bind(options);
        var result = new SectionValidator<LlmHostOptions>(LlmHostOptions.SectionName).Validate(null, options);
        return result.Failed ? result.FailureMessage : "";
    }

    private static Dictionary<string, string?> Endpoint(string name, string provider, string url, params string[] models)
    {
        var settings = new Dictionary<string, string?>
        {
            [$"Llm:Endpoints:{name}:Provider"] = provider,
            [$"Llm:Endpoints:{name}:BaseUrl"] = url,
        };
        for (var i = 0; i < models.Length; i++)
        {
            settings[$"Llm:Endpoints:{name}:Models:{i}"] = models[i];
        }

        return settings;
    }

    private static Dictionary<string, string?> Merge(params Dictionary<string, string?>[] parts) =>
        parts.SelectMany(p => p).ToDictionary(p => p.Key, p => p.Value);

    [Fact]
    public void Valid_endpoints_and_fallbacks_bind_and_pass()
    {
        var settings = Merge(
            Endpoint("claude", "anthropic", "https://api.anthropic.com/v1", "claude-sonnet-4-5"),
            Endpoint("gemini", "gemini", "https://generativelanguage.googleapis.com/v1beta", "gemini-2.0-flash", "*"),
            new() { ["Llm:Fallbacks:claude-sonnet-4-5:0"] = "gemini/gemini-2.0-flash", ["Llm:Fallbacks:claude-sonnet-4-5:1"] = "default" });
        Assert.Equal("", Failures(settings));
    }

    [Fact]
    public void Unknown_provider_names_the_key()
    {
        var failures = Failures(Endpoint("x", "mistral", "https://example.com/v1"));
        Assert.Contains("Llm:Endpoints:x:Provider: unknown provider 'mistral'", failures, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_or_missing_url_names_the_key()
    {
        Assert.Contains("Llm:Endpoints:x:BaseUrl", Failures(Endpoint("x", "openai", "not a url")), StringComparison.Ordinal);
        Assert.Contains("Llm:Endpoints:x:BaseUrl", Failures(Endpoint("x", "openai", "ftp://example.com/v1")), StringComparison.Ordinal);
        Assert.Contains("Llm:Endpoints:y:BaseUrl", Failures(new() { ["Llm:Endpoints:y:Provider"] = "gemini" }), StringComparison.Ordinal);
    }

    [Fact]
    public void Two_endpoints_claiming_one_model_names_both()
    {
        var failures = Failures(Merge(Endpoint("a", "openai", "https://a.example/v1", "gpt-4o"), Endpoint("b", "openai", "https://b.example/v1", "gpt-4o")));
        Assert.Contains("Llm:Endpoints:b:Models: model 'gpt-4o' is also served by endpoint 'a'", failures, StringComparison.Ordinal);
    }

    [Fact]
    public void The_name_default_is_reserved_and_unknown_fallbacks_are_named()
    {
        Assert.Contains("Llm:Endpoints:default:", Failures(Endpoint("default", "openai", "https://a.example/v1")), StringComparison.Ordinal);
        var failures = Failures(Merge(Endpoint("a", "openai", "https://a.example/v1"), new() { ["Llm:Fallbacks:gpt-4o:0"] = "a", ["Llm:Fallbacks:gpt-4o:1"] = "nowhere/gpt-4o" }));
        Assert.Contains("Llm:Fallbacks:gpt-4o:1: unknown endpoint 'nowhere'", failures, StringComparison.Ordinal);
        Assert.DoesNotContain("Llm:Fallbacks:gpt-4o:0", failures, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_pasted_as_the_variable_name_is_refused_without_echoing_it()
    {
        var settings = Endpoint("x", "openai", "https://a.example/v1");
        settings["Llm:Endpoints:x:ApiKeyVariable"] = "sk-live-secret-123";
        var failures = Failures(settings);
        Assert.Contains("Llm:Endpoints:x:ApiKeyVariable", failures, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-live-secret-123", failures, StringComparison.Ordinal);
    }

    [Fact]
    public void The_host_refuses_to_start_naming_the_key()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(Endpoint("x", "cohere", "https://a.example/v1")).Build();
        using var provider = new ServiceCollection().AddWorkerOptions(configuration).BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<LlmHostOptions>>().Value);
        Assert.Contains("Llm:Endpoints:x:Provider", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Allowlist_holds_exactly_the_configured_endpoint_hosts()
    {
        var settings = Merge(
            new() { ["Llm:BaseUrl"] = "http://127.0.0.1:4545/v1" },
            Endpoint("claude", "anthropic", "https://api.anthropic.com/v1", "claude-sonnet-4-5"),
            Endpoint("gemini", "gemini", "http://10.0.0.7:8080/v1beta"),
            Endpoint("again", "openai", "http://127.0.0.1:4545/other/v1", "gpt-4o"));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var provider = new ServiceCollection().AddLogging().AddWorkerOptions(configuration).AddEmbeddedRuntime(configuration).BuildServiceProvider();
        var allowed = provider.GetRequiredService<IOptions<RuntimeServerOptions>>().Value.AllowedHosts;
        var expected = new[] { "http://127.0.0.1:4545/v1", "https://api.anthropic.com/v1", "http://10.0.0.7:8080/v1beta" }
            .Select(u => AllowedHostEntry.For(new Uri(u)));
        Assert.Equal(expected.Order(StringComparer.Ordinal), allowed.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Allowlist_of_the_single_endpoint_configuration_is_unchanged()
    {
        var hosts = EmbeddedRuntime.AllowedHosts(new OpenAiOptions { BaseUrl = "https://api.openai.com/v1" }, new LlmHostOptions());
        Assert.Equal([AllowedHostEntry.For(new Uri("https://api.openai.com/v1"))], hosts);
    }
}
