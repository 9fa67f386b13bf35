using System.Text.Json;
using Microsoft.Extensions.Options;
using Worker.Connector.Client;
using Worker.Connector.Http;
using Worker.Connector.OpenAi;
using Worker.Connector.Providers;

namespace Worker.Connector.Gemini;

/// <summary>
/// Gemini through the connector runtime: <c>POST {BaseUrl}/models/{model}:generateContent</c> or
/// <c>:streamGenerateContent?alt=sse</c>, the key in <c>x-goog-api-key</c> (never in the URL, where it would reach
/// logs), errors classified by Google's status (RESOURCE_EXHAUSTED → RateLimited), a blocked prompt raised as
/// InvalidRequest naming the block reason.
/// </summary>
public sealed class GeminiClient : IChatCompletionClient
{
    private readonly RuntimeClient _runtime;
    private readonly GeminiOptions _options;
    private readonly string? _apiKey;
    private readonly string _base;

    public GeminiClient(RuntimeClient runtime, GeminiOptions options)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(options);
        _runtime = runtime;
        _options = options;
        _apiKey = options.ResolveApiKey();
        _base = options.BaseUrl.TrimEnd('/');
    }

    public GeminiClient(RuntimeClient runtime, IOptions<GeminiOptions> options)
        : this(runtime, options?.Value ?? throw new ArgumentNullException(nameof(options)))
    {
    }

    public string DefaultModel => _options.Model;

    public string Endpoint => _base + "/models";

    public async Task<ChatCompletion> CompleteAsync(ChatCompletionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var http = BuildRequest(request);
        HttpResponse response;
        try
        {
            response = await _runtime.SendHttpAsync(http, cancellationToken);
        }
        catch (ConnectorException ex)
        {
            throw ProviderErrors.Redacted(ex, _apiKey);
        }

        if (!response.Is2xx)
        {
            var error = GeminiError.TryRead(response.BodyUtf8);
            var errorClass = error?.Classify(response.StatusCode) ?? HttpStatusClassifier.Classify(response.StatusCode);
            throw ProviderErrors.FromStatus(response, errorClass, error?.Message, http.Url, GeminiOptions.ApiKeyVariable, _apiKey);
        }

        return Parse(response, http.Url);
    }

    /// <summary>The runtime request: the model's method URL, headers (key, content type) and the mapped body.</summary>
    public HttpRequest BuildRequest(ChatCompletionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var model = Uri.EscapeDataString(request.Model ?? _options.Model);
        var url = request.Stream
            ? $"{_base}/models/{model}:streamGenerateContent?alt=sse"
            : $"{_base}/models/{model}:generateContent";
        return ChatHttpRequest.Create(request, url, GeminiRequestWriter.Write(request, _options.MaxTokens), _options.RequestTimeout, ("x-goog-api-key", _apiKey));
    }

    private ChatCompletion Parse(HttpResponse response, string url)
    {
        var where = HttpStatusClassifier.SafeUrl(url);
        GeminiParseResult result;
        var streamed = response.IsStreaming || (response.ContentType?.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase) ?? false);
        try
        {
            result = streamed ? GeminiResponseParser.ParseStream(response.BodyUtf8) : GeminiResponseParser.ParseJson(response.BodyUtf8);
        }
        catch (JsonException ex)
        {
            // A cut-off or garbled answer: the next attempt may well be whole.
            throw ProviderErrors.InBody(response, ErrorClass.Transient, $"The answer from {where} is not a valid GenerateContentResponse: {ex.Message}", _apiKey, ex);
        }

        if (result.Error is { } error)
        {
            throw ProviderErrors.InBody(response, error.Classify(response.StatusCode), $"Gemini error from {where}: {error.Status}: {error.Message}", _apiKey);
        }

        if (result.BlockReason is { } blockReason)
        {
            // The prompt itself was refused; sending it again gets the same answer.
            throw ProviderErrors.InBody(response, ErrorClass.InvalidRequest, $"Gemini blocked the prompt ({blockReason}) at {where}; no answer was generated.", _apiKey);
        }

        return result.Completion! with
        {
            RequestId = response.GetHeader("x-request-id"),
            JsonBody = streamed ? ReadOnlyMemory<byte>.Empty : response.BodyUtf8,
        };
    }
}
