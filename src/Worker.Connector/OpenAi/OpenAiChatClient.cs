using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Worker.Connector.Client;
using Worker.Connector.Http;
using Worker.Connector.Security;

namespace Worker.Connector.OpenAi;

/// <summary>
/// Chat completions through the connector runtime: builds the <c>/v1/chat/completions</c> request, sends it over the
/// runtime socket, classifies the status and parses the body. The API key goes into the Authorization header only;
/// it is scrubbed from every exception message and never tagged on spans.
/// </summary>
public sealed class OpenAiChatClient : IChatCompletionClient
{
    private readonly RuntimeClient _runtime;
    private readonly OpenAiOptions _options;
    private readonly string? _apiKey;
    private readonly string _url;

    public OpenAiChatClient(RuntimeClient runtime, OpenAiOptions options)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(options);
        _runtime = runtime;
        _options = options;
        _apiKey = options.ResolveApiKey();
        _url = options.BaseUrl.TrimEnd('/') + "/chat/completions";
    }

    public OpenAiChatClient(RuntimeClient runtime, IOptions<OpenAiOptions> options)
        : this(runtime, options?.Value ?? throw new ArgumentNullException(nameof(options)))
    {
    }

    /// <summary>The endpoint this client posts to.</summary>
    public string Endpoint => _url;

    public string DefaultModel => _options.Model;

    public async Task<ChatCompletion> CompleteAsync(ChatCompletionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        try
        {
            if (request.Stream)
            {
                return await CompleteStreamedAsync(request, cancellationToken);
            }

            var response = await CompleteRawAsync(request, cancellationToken);
            response.EnsureSuccess(_url);
            var completion = ChatCompletionParser.Parse(response.BodyUtf8);
            return completion with
            {
                RequestId = response.GetHeader("x-request-id"),
                RateLimit = RateLimitHeaders.Read(response),
                JsonBody = completion.Streamed ? ReadOnlyMemory<byte>.Empty : response.BodyUtf8,
            };
        }
        catch (ConnectorException ex) when (SecretRedactor.Redact(ex.Message, _apiKey) is var redacted && redacted != ex.Message)
        {
            // Defence in depth: an upstream error text may echo the key, whole or in part; it stops here.
            throw new ConnectorException(ex.ErrorClass, redacted, ex.InnerException)
            {
                RequestId = ex.RequestId,
                StatusCode = ex.StatusCode,
                RetryAfter = ex.RetryAfter,
                RateLimit = ex.RateLimit,
                RuntimeUnavailable = ex.RuntimeUnavailable,
            };
        }
    }

    /// <summary>
    /// A stream request, read as it arrives: the SSE body is parsed chunk by chunk and only the answer is kept, so
    /// memory follows the answer, not the event stream. An error status, or a JSON body where a stream was asked for,
    /// is read whole (it is small) and handled as before.
    /// </summary>
    private async Task<ChatCompletion> CompleteStreamedAsync(ChatCompletionRequest request, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        await using var response = await _runtime.StreamHttpAsync(BuildHttpRequest(request), cancellationToken: cancellationToken);
        return await StreamedCompletionReader.ReadAsync(response, _url, request.Observer, started, cancellationToken);
    }

    /// <summary>Sends the request and returns the HTTP answer as it came (any status), for callers that inspect it.</summary>
    public Task<HttpResponse> CompleteRawAsync(ChatCompletionRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _runtime.SendHttpAsync(BuildHttpRequest(request), cancellationToken);
    }

    private HttpRequest BuildHttpRequest(ChatCompletionRequest request) =>
        Providers.ChatHttpRequest.Create(request, _url, BuildBody(request, request.Model ?? _options.Model), _options.RequestTimeout,
            ("Authorization", string.IsNullOrEmpty(_apiKey) ? null : "Bearer " + _apiKey));

    /// <summary>
    /// Checks that the runtime answers and the endpoint is up: <c>GET {BaseUrl}/models</c> through the runtime.
    /// Any status below 500 other than 429 means the endpoint is there (a 401 is a key problem, not an outage).
    /// </summary>
    public async Task<bool> ProbeAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        if (!string.IsNullOrEmpty(_apiKey))
        {
            headers["Authorization"] = "Bearer " + _apiKey;
        }

        try
        {
            var response = await _runtime.SendHttpAsync(
                new HttpRequest { Url = _options.BaseUrl.TrimEnd('/') + "/models", Headers = headers, Timeout = timeout }, cancellationToken);
            return response.StatusCode is < 500 and not 429;
        }
        catch (ConnectorException)
        {
            return false;
        }
    }

    /// <summary>The JSON body as UTF-8: typed fields first, then extra parameters that do not repeat them.</summary>
    public static byte[] BuildBody(ChatCompletionRequest request, string model)
    {
        ArgumentNullException.ThrowIfNull(request);
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model", model);
            json.WriteStartArray("messages");
            foreach (var message in request.Messages)
            {
                json.WriteStartObject();
                json.WriteString("role", message.Role);
                json.WriteString("content", message.Content);
                if (message.Name is not null)
                {
                    json.WriteString("name", message.Name);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            if (request.Temperature is { } temperature)
            {
                json.WriteNumber("temperature", temperature);
            }

            if (request.MaxTokens is { } maxTokens)
            {
                json.WriteNumber("max_tokens", maxTokens);
            }

            json.WriteBoolean("stream", request.Stream);
            if (request.Stream && request.IncludeUsage)
            {
                json.WriteStartObject("stream_options");
                json.WriteBoolean("include_usage", true);
                json.WriteEndObject();
            }

            if (request.ExtraParameters is not null)
            {
                foreach (var (name, value) in request.ExtraParameters)
                {
                    if (name is "model" or "messages" or "stream" or "stream_options"
                        || (name == "temperature" && request.Temperature is not null)
                        || (name == "max_tokens" && request.MaxTokens is not null))
                    {
                        continue;
                    }

                    json.WritePropertyName(name);
                    value.WriteTo(json);
                }
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
