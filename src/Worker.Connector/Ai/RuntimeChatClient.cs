using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
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
    /// Streams the answer: text deltas are yielded as the upstream sends them (our runtime relays the event stream;
    /// from one that answers whole they come together at the end), then the tool calls, then the finish reason with
    /// the usage. Reading stops the upstream when the enumeration is abandoned or <paramref name="cancellationToken"/>
    /// is cancelled.
    /// </summary>
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Bounded: a consumer slower than the upstream holds up the parse, hence the window, hence the upstream read.
        var deltas = Channel.CreateBounded<string>(new BoundedChannelOptions(64) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var call = RunAsync();
        try
        {
            await foreach (var text in deltas.Reader.ReadAllAsync(stop.Token))
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, text);
            }

            foreach (var update in ChatResponseMapper.ToUpdates(await call, textStreamed: true))
            {
                yield return update;
            }
        }
        finally
        {
            if (!call.IsCompleted)
            {
                await stop.CancelAsync();
                try
                {
                    await call;
                }
                catch (Exception ex) when (ex is OperationCanceledException or ConnectorException)
                {
                    // Abandoned by the consumer: how the call ended no longer matters.
                }
            }
        }

        async Task<OpenAi.ChatCompletion> RunAsync()
        {
            try
            {
                return await CompleteAsync(messages, options, stream: true, stop.Token, new DeltaWriter(deltas.Writer));
            }
            finally
            {
                deltas.Writer.TryComplete();
            }
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

    private async Task<ChatCompletion> CompleteAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options, bool stream, CancellationToken cancellationToken, IChatStreamObserver? observer = null)
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
            if (stream)
            {
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                await using var streamed = await _runtime.StreamHttpAsync(request, cancellationToken: cancellationToken);
                return await StreamedCompletionReader.ReadAsync(streamed, _url, observer, started, cancellationToken);
            }

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

    /// <summary>Passes the first choice's text deltas on to the enumeration.</summary>
    private sealed class DeltaWriter(ChannelWriter<string> writer) : IChatStreamObserver
    {
        public ValueTask OnFirstTokenAsync(TimeSpan timeToFirstToken, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask OnDeltaAsync(ChatDelta delta, CancellationToken cancellationToken) =>
            delta.ChoiceIndex == 0 ? writer.WriteAsync(delta.Content, cancellationToken) : ValueTask.CompletedTask;
    }
}
