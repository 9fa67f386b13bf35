using Worker.Connector;
using Worker.Connector.Client;
using Worker.Connector.Http;
using Worker.Connector.Protocol;
using Worker.Runtime.Server;
using Worker.Runtime.Tests.Support;

namespace Worker.Runtime.Tests;

/// <summary>Streamed answers over the socket: the cases of <see cref="StreamedAnswerTests"/>, and the protocol's own frames.</summary>
[Collection(SerialCollection.Name)]
public sealed class StreamingTests : StreamedAnswerTests
{
    protected override int ConnectionsOpened => 1;

    protected override RuntimeClient NewClient(RuntimeServer server) => TestRuntime.Client(server);

    [Fact]
    public async Task The_runtime_sends_no_more_than_the_window_and_resumes_when_granted()
    {
        await using var connection = await RawConnection.ConnectAsync(Server.SocketPath!);
        var request = TestRuntime.HttpRequest("GET", Upstream.Url("/endless")) with { Headers = [StreamProtocol.Header(StreamProtocol.MinWindow)] };
        await connection.SendAsync(request);

        var startPayload = await ReadAsync(connection, MessageType.StreamStart);
        var start = IpcSerializer.ReadStreamStart(startPayload, startPayload.Length);
        Assert.Equal(request.RequestId, start.RequestId);
        Assert.Equal((uint)StreamProtocol.MinWindow, start.Window);
        var headPayload = await ReadAsync(connection, MessageType.StreamHead);
        var head = IpcSerializer.ReadStreamHead(headPayload, headPayload.Length);
        Assert.Equal(200, head.StatusCode);
        Assert.Contains(head.Headers, h => h.Key == "content-type" && h.Value.StartsWith("text/event-stream", StringComparison.Ordinal));

        // One window's worth, then silence: the runtime stopped reading its upstream.
        var received = await ReadChunksAsync(connection, StreamProtocol.MinWindow);
        Assert.Equal(StreamProtocol.MinWindow, received);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connection.ReadFrameAsync(TimeSpan.FromMilliseconds(500)));
        Assert.True(Server.Streams.WindowWaits > 0);
        Assert.InRange(Server.Streams.PeakBufferedBytes, 1, StreamProtocol.MinWindow);

        await SendAsync(connection, MessageType.StreamWindow, new StreamWindowMessage(request.RequestId, (uint)received), IpcSerializer.Write);
        Assert.Equal(StreamProtocol.MinWindow, await ReadChunksAsync(connection, StreamProtocol.MinWindow));

        // Cancel: the upstream call is aborted and the stream still ends with its own frame.
        await SendAsync(connection, MessageType.CancelRequest, new CancelRequestMessage(request.RequestId), IpcSerializer.Write);
        var endPayload = await ReadAsync(connection, MessageType.StreamEnd);
        var end = IpcSerializer.ReadStreamEnd(endPayload, endPayload.Length);
        Assert.Equal(ErrorClass.Transient, end.ErrorClass);
        Assert.Contains("Cancelled by the client", end.ErrorMessage, StringComparison.Ordinal);
        await TestRuntime.EventuallyAsync(() => Upstream.Aborted == 1, Patience, "the upstream saw the caller go away");
        Assert.Equal(1, Server.Streams.Cancelled);
        Assert.InRange(Server.Streams.PeakBufferedBytes, 1, StreamProtocol.MinWindow);
    }

    [Fact]
    public async Task A_request_without_the_header_is_answered_whole_as_before()
    {
        await using var connection = await RawConnection.ConnectAsync(Server.SocketPath!);
        await connection.SendAsync(TestRuntime.HttpRequest("GET", Upstream.Url("/words/3/1")));

        var response = await connection.ReadResponseAsync();
        Assert.Equal(ErrorClass.Success, response.ErrorClass);
        var http = HttpPayloadSerializer.DeserializeResponse(response.Payload.Span);
        Assert.Equal(200, http.StatusCode);
        Assert.Contains("w2 ", http.Body, StringComparison.Ordinal);
        Assert.EndsWith(StreamingUpstream.Done, http.Body, StringComparison.Ordinal);
        // Nothing else follows: no stream frames for a client that did not ask.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => connection.ReadFrameAsync(TimeSpan.FromMilliseconds(300)));
        Assert.Equal(0, Server.Streams.Started);
    }

    [Fact]
    public async Task Streams_at_the_connection_cap_still_get_their_grants_and_cancels()
    {
        await using var server = await TestRuntime.StartAsync(o =>
        {
            o.MaxInFlight = 16;
            o.MaxInFlightPerConnection = 2;
        });
        await using var client = TestRuntime.Client(server);
        await using var first = await client.StreamHttpAsync(HttpRequest.Get(Upstream.Url("/endless")), window: StreamProtocol.MinWindow);
        var second = await client.StreamHttpAsync(HttpRequest.Get(Upstream.Url("/endless")), window: StreamProtocol.MinWindow);

        // A third request finds no slot: the runtime reads no further requests, yet grants and cancels still get through.
        var third = client.SendHttpAsync(HttpRequest.Get(Upstream.Url("/words/2/1")));
        await TestRuntime.EventuallyAsync(() => server.ActiveRequests == 2 && second.BufferedBytes == StreamProtocol.MinWindow, Patience, "both slots taken");
        var read = 0L;
        await foreach (var chunk in first.ReadChunksAsync().WithCancellation(new CancellationTokenSource(Patience).Token))
        {
            read += chunk.Length;
            if (read > 10 * StreamProtocol.MinWindow)
            {
                break;
            }
        }

        Assert.False(third.IsCompleted);
        await second.DisposeAsync();
        var answer = await third.WaitAsync(Patience);
        Assert.Equal(200, answer.StatusCode);
        Assert.Equal(1, server.Streams.Cancelled);
    }

    private static async Task<byte[]> ReadAsync(RawConnection connection, MessageType expected)
    {
        var frame = await connection.ReadFrameAsync() ?? throw new IOException("The runtime closed the connection.");
        Assert.Equal(expected, frame.Type);
        return frame.Payload;
    }

    /// <summary>Reads StreamChunk frames until <paramref name="bytes"/> body bytes arrived; returns how many did.</summary>
    private static async Task<int> ReadChunksAsync(RawConnection connection, int bytes)
    {
        var received = 0;
        while (received < bytes)
        {
            var payload = await ReadAsync(connection, MessageType.StreamChunk);
            IpcSerializer.ReadStreamChunk(payload, payload.Length, out var data);
            received += data.Count;
        }

        return received;
    }

    private static async Task SendAsync<T>(RawConnection connection, MessageType type, T message, Action<Google.FlatBuffers.FlatBufferBuilder, T> build)
    {
        var builder = new Google.FlatBuffers.FlatBufferBuilder(64);
        build(builder, message);
        await connection.SendRawAsync(FrameCodec.Encode(type, IpcSerializer.Finished(builder)));
    }
}
