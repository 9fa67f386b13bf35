using System.Text.Json;
using Microsoft.Extensions.Options;
using Worker.Connector.Client;
using Worker.Connector.Http;
using Worker.Connector.OpenAi;
using Worker.Connector.Providers;

namespace Worker.Connector.Anthropic;

/// <summary>
/// Anthropic Messages through the connector runtime: <c>POST {BaseUrl}/messages</c> with <c>x-api-key</c> and
/// <c>anthropic-version</c>, JSON or an event stream (collected whole by the runtime), errors classified by
/// Anthropic's error type (529 <c>overloaded_error</c> → Transient). The key goes into its header only and is scrubbed
/// from every exception message.
/// </summary>
public sealed class AnthropicMessagesClient : IChatCompletionClient
{
    private readonly RuntimeClient _runtime;
    private readonly AnthropicOptions _options;
    private readonly string? _apiKey;
    private readonly string _url;

    public AnthropicMessagesClient(RuntimeClient runtime, AnthropicOptions options)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(options);
        _runtime = runtime;
        _options = options;
        _apiKey = options.ResolveApiKey();
        _url = options.BaseUrl.TrimEnd('/') + "/messages";
    }

    public AnthropicMessagesClient(RuntimeClient runtime, IOptions<AnthropicOptions> options)
        : this(runtime, options?.Value ?? throw new ArgumentNullException(nameof(options)))
    {
    }

    public string DefaultModel => _options.Model;

    public string Endpoint => _url;

    public async Task<ChatCompletion> CompleteAsync(ChatCompletionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        HttpResponse response;
        try
        {
            response = await _runtime.SendHttpAsync(BuildRequest(request), cancellationToken);
        }
        catch (ConnectorException ex)
        {
            throw ProviderErrors.Redacted(ex, _apiKey);
        }

        if (!response.Is2xx)
        {
            var error = AnthropicError.TryRead(response.BodyUtf8);
            var errorClass = error?.Classify(response.StatusCode) ?? HttpStatusClassifier.Classify(response.StatusCode);
            var failure = ProviderErrors.FromStatus(response, errorClass, error?.Message, _url, AnthropicOptions.ApiKeyVariable, _apiKey);
            var limits = AnthropicRateLimitHeaders.Read(response, DateTimeOffset.UtcNow);
            throw new ConnectorException(failure.ErrorClass, failure.Message)
            {
                RequestId = failure.RequestId,
                StatusCode = failure.StatusCode,
                RetryAfter = failure.RetryAfter,
                RateLimit = limits is not null && response.StatusCode == 429 ? limits with { LimitedBy = LimitedBy(limits) } : limits,
            };
        }

        return Parse(response) with { RateLimit = AnthropicRateLimitHeaders.Read(response, DateTimeOffset.UtcNow) };
    }

    /// <summary>The runtime request: URL, headers (key, version, content type) and the mapped body.</summary>
    public HttpRequest BuildRequest(ChatCompletionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return ChatHttpRequest.Create(request, _url, AnthropicRequestWriter.Write(request, request.Model ?? _options.Model, _options.MaxTokens), _options.RequestTimeout,
            ("x-api-key", _apiKey), ("anthropic-version", _options.Version));
    }

    /// <summary>Anthropic's 429 body does not name the limit; the bucket that is empty does.</summary>
    private static string? LimitedBy(RateLimitSnapshot limits) =>
        limits.RemainingRequests == 0 ? "requests" : limits.RemainingTokens == 0 ? "tokens" : null;

    private ChatCompletion Parse(HttpResponse response)
    {
        try
        {
            if (response.IsStreaming || (response.ContentType?.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase) ?? false))
            {
                var (completion, error) = AnthropicResponseParser.ParseStream(response.BodyUtf8);
                if (error is not null)
                {
                    throw ProviderErrors.InBody(response, error.Classify(response.StatusCode), $"Anthropic stream error from {HttpStatusClassifier.SafeUrl(_url)}: {error.Type}: {error.Message}", _apiKey);
                }

                return completion! with { RequestId = response.GetHeader("request-id") ?? response.GetHeader("x-request-id") };
            }

            var json = AnthropicResponseParser.ParseJson(response.BodyUtf8);
            return json with
            {
                RequestId = response.GetHeader("request-id") ?? response.GetHeader("x-request-id"),
                JsonBody = response.BodyUtf8,
            };
        }
        catch (JsonException ex)
        {
            // A cut-off or garbled answer: the next attempt may well be whole.
            throw ProviderErrors.InBody(response, ErrorClass.Transient, $"The answer from {HttpStatusClassifier.SafeUrl(_url)} is not a valid Messages response: {ex.Message}", _apiKey, ex);
        }
    }
}
