using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using Google.FlatBuffers;
using Worker.Connector.Client;
using Worker.Connector.Http;
using Worker.Connector.OpenAi;
using Worker.Connector.Protocol;

namespace Worker.Connector.Tests.Client;

/// <summary>
/// The streaming client against runtimes it cannot take for granted: one that speaks only the original protocol
/// (answers whole, knows no stream messages), and a scripted one that streams, checks the client's grants and
/// cancels, or breaks the window.
/// </summary>
public sealed class StreamClientTests
{
    private const string SseBody =
        "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n"
        + "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n"
        + "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\n"
        + "data: [DONE]\n\n";

    private static RuntimeClient NewClient(string path) => new(new RuntimeClientOptions
    {
        SocketPath = path,
        PoolSize = 1,
        DefaultTimeout = TimeSpan.FromSeconds(30),
    });

    private static OpenAiChatClient Chat(RuntimeClient client) =>
        new(client, new OpenAiOptions { BaseUrl = "http://127.0.0.1:9/v1", ApiKey = "sk-test-secret" });

    private static ExecuteResponseMessage WholeSse(ExecuteRequestMessage request) => new()
    {
        RequestId = request.RequestId,
        Payload = HttpPayloadSerializer.SerializeResponse(200,
            new Dictionary<string, string> { ["content-type"] = "text/event-stream", ["x-request-id"] = "r-9" }, Encoding.UTF8.GetBytes(SseBody), isStreaming: true),
    };

    [Fact]
    public async Task A_runtime_that_answers_whole_gets_the_whole_body_path()
    {
        var path = TestRuntimeServer.NewSocketPath();
        await using var server = TestRuntimeServer.Start(path, r => Task.FromResult(WholeSse(r)));
        await using var client = NewClient(path);
        var observer = new Recorder();

        var completion = await Chat(client).CompleteAsync(new ChatCompletionRequest { Messages = [ChatMessage.User("hi")], Observer = observer });

        Assert.Equal("Hello", completion.Content);
        Assert.Equal("stop", completion.FinishReason);
        Assert.Equal(3, completion.Usage?.TotalTokens);
        Assert.Equal("r-9", completion.RequestId);
        Assert.NotNull(completion.TimeToFirstToken);
        Assert.Equal(["Hel", "lo"], observer.Deltas);
        var sent = Assert.Single(server.Received);
        Assert.Contains(sent.Headers, h => h.Key == StreamProtocol.RequestHeader);
    }

    [Fact]
    public async Task A_runtime_that_answers_whole_is_never_sent_a_cancel()
    {
        var path = TestRuntimeServer.NewSocketPath();
        // Like the original: it knows no message type past 4, so a cancel frame would cost the connection.
        await using var server = TestRuntimeServer.Start(path, async r =>
        {
            await Task.Delay(r.Payload.Span.IndexOf("slow"u8) >= 0 ? 1500 : 0);
            return WholeSse(r);
        });
        await using var client = NewClient(path);
        await client.SendHttpAsync(HttpRequest.Get("http://127.0.0.1:9/warm"));
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            client.StreamHttpAsync(HttpRequest.Get("http://127.0.0.1:9/slow"), cancellationToken: cancel.Token));
        await Task.Delay(1700);

        var completion = await Chat(client).CompleteAsync(new ChatCompletionRequest { Messages = [ChatMessage.User("hi")] });
        Assert.Equal("Hello", completion.Content);
        Assert.Equal(1, server.ConnectionsAccepted);
    }

    [Fact]
    public async Task A_whole_answer_with_an_error_class_throws_it()
    {
        var path = TestRuntimeServer.NewSocketPath();
        await using var server = TestRuntimeServer.Start(path, r => Task.FromResult(new ExecuteResponseMessage
        {
            RequestId = r.RequestId,
            ErrorClass = ErrorClass.Timeout,
            ErrorMessage = "Deadline exceeded",
        }));
        await using var client = NewClient(path);

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => client.StreamHttpAsync(HttpRequest.Get("http://127.0.0.1:9/x")));
        Assert.Equal(ErrorClass.Timeout, ex.ErrorClass);
        Assert.Equal("Deadline exceeded", ex.Message);
    }

    [Fact]
    public async Task Chunks_come_in_order_and_the_client_grants_window_as_it_reads()
    {
        await using var runtime = ScriptedRuntime.Start(async (request, writer, received) =>
        {
            await writer.SendAsync(MessageType.StreamStart, new StreamStartMessage(request.RequestId, 4096), IpcSerializer.Write);
            await writer.SendAsync(MessageType.StreamHead, new StreamHeadMessage { RequestId = request.RequestId, StatusCode = 200, Headers = [new("content-type", "text/plain")] }, IpcSerializer.Write);
            for (var i = 0; i < 8; i++)
            {
                if (i is 4 or 6)
                {
                    // The window is spent: go on only once the client has granted some back (half a window, two
                    // chunks, per grant).
                    await received.WaitForAsync(MessageType.StreamWindow, count: i / 2 - 1);
                }

                var data = new byte[1024];
                Array.Fill(data, (byte)('a' + i));
                await writer.SendAsync(MessageType.StreamChunk, (request.RequestId, (ReadOnlyMemory<byte>)data), IpcSerializer.WriteStreamChunk);
            }

            await writer.SendAsync(MessageType.StreamEnd, new StreamEndMessage { RequestId = request.RequestId }, IpcSerializer.Write);
        });
        await using var client = NewClient(runtime.SocketPath);

        await using var response = await client.StreamHttpAsync(HttpRequest.Get("http://127.0.0.1:9/x"), window: 4096);
        var body = new StringBuilder();
        await foreach (var chunk in response.ReadChunksAsync())
        {
            Assert.InRange(response.BufferedBytes, 0, 4096);
            body.Append(Encoding.ASCII.GetString(chunk.Span));
        }

        Assert.Equal(string.Concat(Enumerable.Range(0, 8).Select(i => new string((char)('a' + i), 1024))), body.ToString());
        Assert.Contains(MessageType.StreamWindow, runtime.Received);
        Assert.DoesNotContain(MessageType.CancelRequest, runtime.Received);
    }

    [Fact]
    public async Task A_runtime_that_overruns_the_window_costs_its_connection()
    {
        await using var runtime = ScriptedRuntime.Start(async (request, writer, _) =>
        {
            await writer.SendAsync(MessageType.StreamStart, new StreamStartMessage(request.RequestId, 4096), IpcSerializer.Write);
            await writer.SendAsync(MessageType.StreamHead, new StreamHeadMessage { RequestId = request.RequestId, StatusCode = 200 }, IpcSerializer.Write);
            await writer.SendAsync(MessageType.StreamChunk, (request.RequestId, (ReadOnlyMemory<byte>)new byte[8192]), IpcSerializer.WriteStreamChunk);
        });
        await using var client = NewClient(runtime.SocketPath);

        await using var response = await client.StreamHttpAsync(HttpRequest.Get("http://127.0.0.1:9/x"), window: 4096);
        var ex = await Assert.ThrowsAsync<ConnectorException>(async () =>
        {
            await foreach (var _ in response.ReadChunksAsync())
            {
            }
        });
        Assert.True(ex.RuntimeUnavailable);
        Assert.Contains("overran the window", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancelling_sends_a_cancel_for_an_accepted_stream_even_before_its_start()
    {
        var startLate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var runtime = ScriptedRuntime.Start(async (request, writer, received) =>
        {
            await startLate.Task;
            await writer.SendAsync(MessageType.StreamStart, new StreamStartMessage(request.RequestId, 4096), IpcSerializer.Write);
            await received.WaitForAsync(MessageType.CancelRequest);
            await writer.SendAsync(MessageType.StreamEnd, new StreamEndMessage { RequestId = request.RequestId, ErrorClass = ErrorClass.Transient, ErrorMessage = "cancelled" }, IpcSerializer.Write);
        });
        await using var client = NewClient(runtime.SocketPath);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.StreamHttpAsync(HttpRequest.Get("http://127.0.0.1:9/x"), cancellationToken: cancel.Token));
        // The runtime takes the request only now: the client answers its StreamStart with the cancel it owes.
        startLate.SetResult();

        await runtime.Received.WaitForAsync(MessageType.CancelRequest).WaitAsync(TimeSpan.FromSeconds(10));
    }

    private sealed class Recorder : IChatStreamObserver
    {
        public List<string> Deltas { get; } = [];

        public ValueTask OnFirstTokenAsync(TimeSpan timeToFirstToken, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask OnDeltaAsync(ChatDelta delta, CancellationToken cancellationToken)
        {
            Deltas.Add(delta.Content);
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Frame types a scripted runtime received, waitable.</summary>
    private sealed class ReceivedFrames : IEnumerable<MessageType>
    {
        private readonly ConcurrentQueue<MessageType> _types = new();
        private readonly SemaphoreSlim _arrived = new(0);

        public void Add(MessageType type)
        {
            _types.Enqueue(type);
            _arrived.Release();
        }

        public async Task WaitForAsync(MessageType type, int count = 1)
        {
            while (_types.Count(received => received == type) < count)
            {
                await _arrived.WaitAsync(TimeSpan.FromMilliseconds(50));
            }
        }

        public IEnumerator<MessageType> GetEnumerator() => _types.GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }

    private sealed class ScriptWriter(FrameWriter writer)
    {
        public ValueTask SendAsync<T>(MessageType type, T message, Action<FlatBufferBuilder, T> build) =>
            writer.WriteAsync(type, message, build, CancellationToken.None);
    }

    /// <summary>A runtime that runs a script per request over a real Unix socket and records every frame type it receives.</summary>
    private sealed class ScriptedRuntime : IAsyncDisposable
    {
        private readonly Socket _listener;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _serve;

        private ScriptedRuntime(string path, Func<ExecuteRequestMessage, ScriptWriter, ReceivedFrames, Task> script)
        {
            SocketPath = path;
            _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            _listener.Bind(new UnixDomainSocketEndPoint(path));
            _listener.Listen(8);
            _serve = Task.Run(() => ServeAsync(script));
        }

        public string SocketPath { get; }

        public ReceivedFrames Received { get; } = new();

        public static ScriptedRuntime Start(Func<ExecuteRequestMessage, ScriptWriter, ReceivedFrames, Task> script) =>
            new(TestRuntimeServer.NewSocketPath(), script);

        private async Task ServeAsync(Func<ExecuteRequestMessage, ScriptWriter, ReceivedFrames, Task> script)
        {
            try
            {
                using var socket = await _listener.AcceptAsync(_stop.Token);
                await using var stream = new NetworkStream(socket, ownsSocket: false);
                using var writer = new FrameWriter(stream);
                var reader = new FrameReader(stream);
                var scripts = new List<Task>();
                while (await reader.ReadAsync(_stop.Token) is { } frame)
                {
                    using (frame)
                    {
                        Received.Add(frame.Type);
                        if (frame.Type == MessageType.ExecuteRequest)
                        {
                            var request = IpcSerializer.ReadExecuteRequest(frame.Buffer, frame.Length);
                            scripts.Add(Task.Run(() => script(request, new ScriptWriter(writer), Received)));
                        }
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException or ProtocolException)
            {
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Dispose();
            await _serve;
            File.Delete(SocketPath);
            _stop.Dispose();
        }
    }
}
