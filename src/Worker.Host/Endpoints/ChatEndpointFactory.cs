using Worker.Connector.Anthropic;
using Worker.Connector.Client;
using Worker.Connector.Gemini;
using Worker.Connector.OpenAi;
using Worker.Host.Configuration;

namespace Worker.Host.Endpoints;

/// <summary>Builds a named endpoint's client over the shared runtime client; the key comes from the named environment variable.</summary>
public static class ChatEndpointFactory
{
    public static ChatEndpoint Create(string name, LlmEndpointOptions options, RuntimeClient runtime, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(runtime);
        environment ??= Environment.GetEnvironmentVariable;
        // No variable named: the provider's usual one (ApiKey null). A named but unset variable: no key is sent.
        var key = options.ApiKeyVariable is { } variable ? environment(variable) ?? "" : null;
        var baseUrl = options.BaseUrl ?? throw new ArgumentException($"Llm:Endpoints:{name}:BaseUrl is required", nameof(options));
        IChatCompletionClient client = options.Provider switch
        {
            EndpointProviders.Anthropic => new AnthropicMessagesClient(runtime, new AnthropicOptions
            {
                BaseUrl = baseUrl,
                Model = options.DefaultModel ?? new AnthropicOptions().Model,
                ApiKey = key,
                Version = options.Version ?? AnthropicOptions.DefaultVersion,
                MaxTokens = options.MaxTokens ?? new AnthropicOptions().MaxTokens,
            }),
            EndpointProviders.Gemini => new GeminiClient(runtime, new GeminiOptions
            {
                BaseUrl = baseUrl,
                Model = options.DefaultModel ?? new GeminiOptions().Model,
                ApiKey = key,
                MaxTokens = options.MaxTokens,
            }),
            EndpointProviders.OpenAi => new OpenAiChatClient(runtime, new OpenAiOptions
            {
                BaseUrl = baseUrl,
                Model = options.DefaultModel ?? new OpenAiOptions().Model,
                ApiKey = key,
            }),
            _ => throw new ArgumentException($"Llm:Endpoints:{name}:Provider: unknown provider '{options.Provider}'", nameof(options)),
        };
        var models = options.Models.Where(m => m != EndpointProviders.AnyModel).ToHashSet(StringComparer.Ordinal);
        return new ChatEndpoint(name, options.Provider, client, models, options.ServesAnyModel);
    }
}
