using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.AI;
using Worker.Connector.Client;
using Worker.Connector.Http;
using Worker.Connector.OpenAi;
using ChatMessage = Microsoft.Extensions.AI.ChatMessage;

namespace Worker.Connector.Ai;

/// <summary>
/// Microsoft.Extensions.AI's <see cref="IChatClient"/> over the connector runtime: OpenAI chat completions sent through
/// <see cref="RuntimeClient"/> to <see cref="OpenAiOptions.BaseUrl"/>, so any code written against IChatClient (and
/// its middleware: function invocation, logging, caching) can use the runtime. Messages, options (model, temperature,
/// max output tokens, tools and tool mode, response format, ...) and results (text, tool calls as
/// <see cref="FunctionCallContent"/>, finish reason, usage) are mapped to and from OpenAI's wire shapes.
/// </summary>
/// <remarks>
/// Failures are the connector's <see cref="ConnectorException"/>, classified (<see cref="ConnectorException.ErrorClass"/>,
/// status code, Retry-After) exactly as <see cref="OpenAiChatClient"/> reports them. Only the first choice is read.
/// </remarks>
public sealed class RuntimeChatClient : IChatClient
{
    private const string ProviderName = "openai";

    private readonly RuntimeClient _runtime;
    private readonly OpenAiOptions _options;
    private readonly string? _apiKey;
    private readonly string _url;
    private readonly ChatClientMetadata _metadata;

    public RuntimeChatClient(RuntimeClient runtime, OpenAiOptions options)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(options);
        _runtime = runtime;
        _options = options;
        _apiKey = options.ResolveApiKey();
        _url = options.BaseUrl.TrimEnd('/') + "/chat/completions";
        _metadata = new ChatClientMetadata(ProviderName, new Uri(options.BaseUrl), options.Model);
    }

    /// <summary>The endpoint this client posts to.</summary>
    public string Endpoint => _url;

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var completion = await CompleteAsync(messages, options, stream: false, cancellationToken);
        return ChatResponseMapper.ToResponse(completion);
    }

    /// <summary>
    /// Asks the upstream for an event stream, but the runtime answers with the whole body once the stream has ended
    /// (it does not relay chunks as they arrive), so the updates (text, then tool calls, then finish reason and usage)
    /// are yielded together at the end: streaming-shaped, not incremental.
    /// </summary>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var completion = await CompleteAsync(messages, options, stream: true, cancellationToken);
        foreach (var update in ChatResponseMapper.ToUpdates(completion))
        {
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        return serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType == typeof(RuntimeClient) ? _runtime
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <summary>Nothing to release: the <see cref="RuntimeClient"/> belongs to whoever passed it in.</summary>
    public void Dispose()
    {
    }

    private async Task<ChatCompletion> CompleteAsync(IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["Content-Type"] = "application/json" };
        if (stream)
        {
            headers["Accept"] = "text/event-stream";
        }

        if (!string.IsNullOrEmpty(_apiKey))
        {
            headers["Authorization"] = "Bearer " + _apiKey;
        }

        var body = ChatRequestWriter.Write(messages, options, options?.ModelId ?? _options.Model, stream);
        var request = new HttpRequest
        {
            Method = "POST",
            Url = _url,
            Headers = headers,
            Body = Encoding.UTF8.GetString(body),
            Timeout = _options.RequestTimeout,
        };

        try
        {
            var response = await _runtime.SendHttpAsync(request, cancellationToken);
            response.EnsureSuccess(_url);
            return ChatCompletionParser.Parse(response.BodyUtf8);
        }
        catch (ConnectorException ex) when (_apiKey is { Length: > 0 } key && ex.Message.Contains(key, StringComparison.Ordinal))
        {
            // Defence in depth, as OpenAiChatClient does: no path should echo the key, but if one does, it stops here.
            throw new ConnectorException(ex.ErrorClass, ex.Message.Replace(key, "***", StringComparison.Ordinal))
            {
                RequestId = ex.RequestId,
                StatusCode = ex.StatusCode,
                RetryAfter = ex.RetryAfter,
                RuntimeUnavailable = ex.RuntimeUnavailable,
            };
        }
    }
}
