using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Worker.Connector;
using Worker.Connector.Client;
using Worker.Connector.Http;
using Worker.Connector.OpenAi;
using Worker.Runtime.Server;
using Worker.Runtime.Tests.Support;

namespace Worker.Runtime.Tests;

/// <summary>
/// Streamed answers end to end: our client → our runtime → a Kestrel upstream that streams SSE. Chunks arrive while
/// the upstream still sends, windows bound what each side holds, a slow stream does not stall another, and a cancel
/// reaches the upstream. Each case runs twice: over the socket (<see cref="StreamingTests"/>) and in-process
/// (<see cref="InProcessStreamingTests"/>, the worker's embedded runtime). Timing-sensitive, so serial, with wide margins.
/// </summary>
public abstract class StreamedAnswerTests : IAsyncLifetime
{
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    private StreamingUpstream _upstream = null!;
    private RuntimeServer _server = null!;
    private RuntimeClient _client = null!;

    protected StreamingUpstream Upstream => _upstream;

    protected RuntimeServer Server => _server;

    /// <summary>Socket connections a client of this kind opens for its calls (1 over the socket, none in-process).</summary>
    protected abstract int ConnectionsOpened { get; }

    /// <summary>A client of <paramref name="server"/> by the path under test.</summary>
    protected abstract RuntimeClient NewClient(RuntimeServer server);

    public async Task InitializeAsync()
    {
        _upstream = await StreamingUpstream.StartAsync();
        _server = await TestRuntime.StartAsync();
        _client = NewClient(_server);
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
        await _upstream.DisposeAsync();
    }

    [Fact]
    public async Task Chunks_arrive_while_the_upstream_is_still_sending()
    {
        await using var response = await _client.StreamHttpAsync(HttpRequest.Get(_upstream.Url("/gated/first")));
        Assert.True(response.IsStreamed);
        Assert.Equal(200, response.StatusCode);
        Assert.True(response.IsEventStream);
        Assert.Equal("req-1", response.GetHeader("X-Request-Id"));

        await using var chunks = response.ReadChunksAsync().GetAsyncEnumerator();
        Assert.True(await chunks.MoveNextAsync());
        var body = new StringBuilder(Encoding.UTF8.GetString(chunks.Current.Span));
        Assert.Contains("Hello", body.ToString(), StringComparison.Ordinal);
        // The upstream is held on its gate: the first chunk came while it was still sending.
        Assert.Equal(0, _upstream.Finished);

        _upstream.OpenGate("first");
        while (await chunks.MoveNextAsync())
        {
            body.Append(Encoding.UTF8.GetString(chunks.Current.Span));
        }

        Assert.EndsWith(StreamingUpstream.Done, body.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, _upstream.Finished);
        Assert.Equal(1, _server.Streams.Started);
    }

    [Fact]
    public async Task A_slow_stream_does_not_stall_another_on_the_same_connection()
    {
        const int window = 64 * 1024;
        var chat = Chat("/words/20/5");

        // Stream A is never read: it fills its window and stops there.
        await using var slow = await _client.StreamHttpAsync(HttpRequest.Get(_upstream.Url("/endless")), window: window);
        await TestRuntime.EventuallyAsync(() => slow.BufferedBytes == window, Patience, "the unread stream filled its window");

        var watch = Stopwatch.StartNew();
        var completion = await chat.CompleteAsync(new ChatCompletionRequest { Messages = [ChatMessage.User("hi")] });
        watch.Stop();

        Assert.StartsWith("w0 w1 ", completion.Content, StringComparison.Ordinal);
        Assert.EndsWith("w19 ", completion.Content, StringComparison.Ordinal);
        Assert.InRange(watch.Elapsed, TimeSpan.Zero, Patience);
        Assert.Equal(ConnectionsOpened, _server.OpenConnections);
        // Neither side held more than the window for the stalled stream.
        Assert.Equal(window, slow.BufferedBytes);
        Assert.InRange(_server.Streams.PeakBufferedBytes, 1, ResponseStream.ChunkSize);
        Assert.True(_server.Streams.WindowWaits > 0);
    }

    [Fact]
    public async Task Cancelling_the_caller_aborts_the_upstream_promptly()
    {
        using var cancel = new CancellationTokenSource();
        await using var response = await _client.StreamHttpAsync(HttpRequest.Get(_upstream.Url("/endless")), cancellationToken: cancel.Token);
        await using var chunks = response.ReadChunksAsync().GetAsyncEnumerator();
        Assert.True(await chunks.MoveNextAsync());

        var watch = Stopwatch.StartNew();
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            while (await chunks.MoveNextAsync())
            {
            }
        });

        await TestRuntime.EventuallyAsync(() => _upstream.Aborted == 1, Patience, "the upstream saw the cancel");
        Assert.InRange(watch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        await TestRuntime.EventuallyAsync(() => _server.ActiveRequests == 0, Patience, "the credit came back");
        Assert.Equal(1, _server.Streams.Cancelled);
    }

    [Fact]
    public async Task Cancelling_before_the_head_aborts_the_upstream_too()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var chat = Chat("/late/60000");

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            chat.CompleteAsync(new ChatCompletionRequest { Messages = [ChatMessage.User("hi")] }, cancel.Token));

        await TestRuntime.EventuallyAsync(() => _upstream.Aborted == 1, Patience, "the upstream saw the cancel");
        await TestRuntime.EventuallyAsync(() => _server.ActiveRequests == 0, Patience, "the credit came back");
        Assert.Equal(1, _server.Streams.Cancelled);
    }

    [Fact]
    public async Task A_chat_completion_streams_with_its_first_token_timed_and_deltas_observed()
    {
        var observer = new RecordingObserver();
        var chat = Chat("/gated/chat");
        var watch = Stopwatch.StartNew();
        var call = chat.CompleteAsync(new ChatCompletionRequest { Messages = [ChatMessage.User("hi")], Observer = observer });

        await TestRuntime.EventuallyAsync(() => observer.FirstToken is not null, Patience, "the first token");
        Assert.False(call.IsCompleted);
        Assert.Equal(0, _upstream.Finished);
        _upstream.OpenGate("chat");
        var completion = await call;
        watch.Stop();

        Assert.True(completion.Streamed);
        Assert.Equal("Hello world", completion.Content);
        Assert.Equal("stop", completion.FinishReason);
        Assert.Equal(7, completion.Usage?.TotalTokens);
        Assert.Equal("req-1", completion.RequestId);
        Assert.Equal(observer.FirstToken, completion.TimeToFirstToken);
        Assert.InRange(completion.TimeToFirstToken!.Value, TimeSpan.FromTicks(1), watch.Elapsed);
        Assert.Equal(["Hello ", "world"], observer.Deltas.Select(d => d.Content));
    }

    [Fact]
    public async Task The_IChatClient_streams_updates_as_they_arrive()
    {
        using var chat = new Worker.Connector.Ai.RuntimeChatClient(_client, new OpenAiOptions { BaseUrl = _upstream.Url("/gated/ai"), ApiKey = "" });
        var updates = new List<Microsoft.Extensions.AI.ChatResponseUpdate>();

        await using (var stream = Microsoft.Extensions.AI.ChatClientExtensions.GetStreamingResponseAsync(chat, "hi").GetAsyncEnumerator())
        {
            Assert.True(await stream.MoveNextAsync());
            Assert.Equal("Hello ", stream.Current.Text);
            Assert.Equal(0, _upstream.Finished);
            updates.Add(stream.Current);
            _upstream.OpenGate("ai");
            while (await stream.MoveNextAsync())
            {
                updates.Add(stream.Current);
            }
        }

        var response = Microsoft.Extensions.AI.ChatResponseExtensions.ToChatResponse(updates);
        Assert.Equal("Hello world", response.Text);
        Assert.Equal(Microsoft.Extensions.AI.ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(7, response.Usage?.TotalTokenCount);
    }

    [Fact]
    public async Task Abandoning_an_IChatClient_stream_aborts_the_upstream()
    {
        using var chat = new Worker.Connector.Ai.RuntimeChatClient(_client, new OpenAiOptions { BaseUrl = _upstream.Url("/endless"), ApiKey = "" });

        await foreach (var update in Microsoft.Extensions.AI.ChatClientExtensions.GetStreamingResponseAsync(chat, "hi"))
        {
            Assert.StartsWith("xxx", update.Text, StringComparison.Ordinal);
            break;
        }

        await TestRuntime.EventuallyAsync(() => _upstream.Aborted == 1, Patience, "the upstream saw the stream abandoned");
        await TestRuntime.EventuallyAsync(() => _server.ActiveRequests == 0, Patience, "the credit came back");
    }

    [Theory]
    [InlineData("/error-event", ErrorClass.RateLimited, "Rate limit reached")]
    [InlineData("/truncated", ErrorClass.Transient, "truncated")]
    [InlineData("/cut", ErrorClass.Transient, "HTTP request failed")]
    [InlineData("/status/429", ErrorClass.RateLimited, "429")]
    [InlineData("/status/500", ErrorClass.Transient, "500")]
    [InlineData("/status/400", ErrorClass.InvalidRequest, "400")]
    public async Task Failures_keep_their_classification_when_streamed(string path, ErrorClass expected, string text)
    {
        var ex = await Assert.ThrowsAsync<ConnectorException>(() =>
            Chat(path).CompleteAsync(new ChatCompletionRequest { Messages = [ChatMessage.User("hi")] }));

        Assert.Equal(expected, ex.ErrorClass);
        Assert.Contains(text, ex.Message, StringComparison.Ordinal);
        if (path == "/status/429")
        {
            Assert.Equal(TimeSpan.FromSeconds(7), ex.RetryAfter);
        }
    }

    [Fact]
    public async Task A_deadline_mid_stream_is_a_timeout()
    {
        var ex = await Assert.ThrowsAsync<ConnectorException>(() => Chat("/gated/never").CompleteAsync(
            new ChatCompletionRequest { Messages = [ChatMessage.User("hi")], Timeout = TimeSpan.FromSeconds(1) }));

        Assert.Equal(ErrorClass.Timeout, ex.ErrorClass);
        await TestRuntime.EventuallyAsync(() => _upstream.Aborted == 1, Patience, "the upstream call was aborted");
    }

    [Fact]
    public async Task Runtime_MaxResponseBytes_caps_a_streamed_body_too()
    {
        await using var server = await TestRuntime.StartAsync(o => o.MaxResponseBytes = 32 * 1024);
        await using var client = NewClient(server);
        var chat = new OpenAiChatClient(client, new OpenAiOptions { BaseUrl = _upstream.Url("/endless"), ApiKey = "" });

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => chat.CompleteAsync(new ChatCompletionRequest { Messages = [ChatMessage.User("hi")] }));

        Assert.Equal(ErrorClass.Permanent, ex.ErrorClass);
        Assert.Contains("Runtime:MaxResponseBytes", ex.Message, StringComparison.Ordinal);
        await TestRuntime.EventuallyAsync(() => _upstream.Aborted == 1, Patience, "the upstream call was dropped");
    }

    [Fact]
    public async Task A_json_answer_to_a_stream_request_is_parsed_whole()
    {
        var completion = await Chat("/json").CompleteAsync(new ChatCompletionRequest { Messages = [ChatMessage.User("hi")] });

        Assert.False(completion.Streamed);
        Assert.Equal("whole", completion.Content);
        Assert.Null(completion.TimeToFirstToken);
        Assert.False(completion.JsonBody.IsEmpty);
    }


    protected OpenAiChatClient Chat(string scenario) =>
        new(_client, new OpenAiOptions { BaseUrl = _upstream.Url(scenario), ApiKey = "sk-test-secret" });

    private sealed class RecordingObserver : IChatStreamObserver
    {
        public TimeSpan? FirstToken { get; private set; }

        public ConcurrentQueue<ChatDelta> Deltas { get; } = new();

        public ValueTask OnFirstTokenAsync(TimeSpan timeToFirstToken, CancellationToken cancellationToken)
        {
            FirstToken = timeToFirstToken;
            return ValueTask.CompletedTask;
        }

        public ValueTask OnDeltaAsync(ChatDelta delta, CancellationToken cancellationToken)
        {
            Deltas.Enqueue(delta);
            return ValueTask.CompletedTask;
        }
    }
}
