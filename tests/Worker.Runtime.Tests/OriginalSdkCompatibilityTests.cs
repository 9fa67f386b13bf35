using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Worker.Connector;
using Worker.Connector.Protocol;
using Worker.Runtime.Tests.Support;

namespace Worker.Runtime.Tests;

/// <summary>
/// Speaks to the runtime the way the original SDKs do: a fresh socket, one request written whole, one answer read
/// (4-byte big-endian length, type byte, FlatBuffer), no multiplexing, no client library.
/// </summary>
public sealed class OriginalSdkCompatibilityTests : IClassFixture<UpstreamFixture>, IAsyncLifetime
{
    private static readonly string[] ResponseKeys = ["body", "headers", "is_streaming", "status_code"];
    private readonly TestUpstream _upstream;
    private Server.RuntimeServer _server = null!;

    public OriginalSdkCompatibilityTests(UpstreamFixture fixture)
    {
        _upstream = fixture.Upstream;
    }

    public async Task InitializeAsync() => _server = await TestRuntime.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData(1001UL, "/sse", true)]
    [InlineData(1002UL, "/echo", false)]
    public async Task Golden_requests_pointed_at_a_live_upstream_answer_like_the_original(ulong requestId, string path, bool streaming)
    {
        var golden = Decode(GoldenVectors.Bytes(GoldenVectors.ByRequestId(requestId, 0)));
        var payload = JsonNode.Parse(golden.Payload.Span)!.AsObject();
        payload["url"] = _upstream.Url(path);
        if (streaming)
        {
            payload["method"] = "GET";
        }

        var request = golden with { Payload = JsonSerializer.SerializeToUtf8Bytes(payload), DeadlineAtMs = TestRuntime.DeadlineIn(TimeSpan.FromSeconds(30)) };

        var (type, answer) = await RoundTripAsync(Encode(request));

        Assert.Equal((byte)MessageType.ExecuteResponse, type);
        var response = IpcSerializer.ReadExecuteResponse(answer, answer.Length);
        Assert.Equal(requestId, response.RequestId);
        Assert.Equal(ErrorClass.Success, response.ErrorClass);
        Assert.Null(response.ErrorMessage);
        var json = JsonNode.Parse(response.Payload.Span)!.AsObject();
        var goldenJson = JsonNode.Parse(GoldenVectors.ByRequestId(requestId, 1).GetProperty("decoded").GetProperty("payload_json").GetRawText())!.AsObject();
        Assert.Equal(ResponseKeys, json.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal(ResponseKeys, goldenJson.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal(200, json["status_code"]!.GetValue<int>());
        Assert.Equal(streaming, json["is_streaming"]!.GetValue<bool>());
        Assert.Equal(goldenJson["is_streaming"]!.GetValue<bool>(), json["is_streaming"]!.GetValue<bool>());
        Assert.All(json["headers"]!.AsObject(), h => Assert.Equal(h.Key.ToLowerInvariant(), h.Key));
        if (!streaming)
        {
            Assert.Equal(payload["body"]!.GetValue<string>(), json["body"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Exact_golden_frame_1003_is_answered_for_its_request_id()
    {
        var bytes = GoldenVectors.Bytes(GoldenVectors.ByRequestId(1003, 0));
        var deadline = GoldenVectors.ByRequestId(1003, 0).GetProperty("decoded").GetProperty("deadline_at_ms").GetInt64();

        var (type, answer) = await RoundTripAsync(bytes);

        Assert.Equal((byte)MessageType.ExecuteResponse, type);
        var response = IpcSerializer.ReadExecuteResponse(answer, answer.Length);
        Assert.Equal(1003UL, response.RequestId);
        if (deadline < DateTimeOffset.UtcNow.ToUnixTimeMilliseconds())
        {
            // Captured with a deadline that has since passed: ours enforces deadlines, the original did not.
            Assert.Equal(ErrorClass.Timeout, response.ErrorClass);
        }
        else
        {
            AssertUnreachable(response);
        }
    }

    [Fact]
    public async Task Golden_frame_1003_with_a_future_deadline_is_transient_http_request_failed()
    {
        var bytes = GoldenVectors.Bytes(GoldenVectors.ByRequestId(1003, 0));
        var deadline = GoldenVectors.ByRequestId(1003, 0).GetProperty("decoded").GetProperty("deadline_at_ms").GetUInt64();
        Span<byte> pattern = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(pattern, deadline);
        var at = bytes.AsSpan().IndexOf(pattern);
        Assert.True(at > 0, "deadline field not found in the golden frame");
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at), TestRuntime.DeadlineIn(TimeSpan.FromSeconds(30)));

        var (type, answer) = await RoundTripAsync(bytes);

        Assert.Equal((byte)MessageType.ExecuteResponse, type);
        var response = IpcSerializer.ReadExecuteResponse(answer, answer.Length);
        Assert.Equal(1003UL, response.RequestId);
        AssertUnreachable(response);
    }

    [Fact]
    public async Task Health_check_with_empty_payload_is_answered()
    {
        var (type, answer) = await RoundTripAsync([0, 0, 0, 1, (byte)MessageType.HealthCheck]);

        Assert.Equal((byte)MessageType.HealthResponse, type);
        var health = IpcSerializer.ReadHealthCheckResponse(answer, answer.Length);
        Assert.True(health.Healthy);
        Assert.Equal("ok", health.Message);
        Assert.Equal(1024U, health.AvailableCredits);
        Assert.Equal(0U, health.ActiveRequests);
    }

    [Fact]
    public async Task Sequential_requests_each_on_a_fresh_socket()
    {
        for (var i = 0; i < 20; i++)
        {
            var request = TestRuntime.HttpRequest("POST", _upstream.Url("/echo"), TestRuntime.DeadlineIn(TimeSpan.FromSeconds(30)), body: $"n{i}");
            var (_, answer) = await RoundTripAsync(Encode(request));
            var response = IpcSerializer.ReadExecuteResponse(answer, answer.Length);
            Assert.Equal(request.RequestId, response.RequestId);
            Assert.Equal($"n{i}", JsonNode.Parse(response.Payload.Span)!["body"]!.GetValue<string>());
        }

        await TestRuntime.EventuallyAsync(() => _server.OpenConnections == 0, TimeSpan.FromSeconds(5), "connections closed");
    }

    private static void AssertUnreachable(ExecuteResponseMessage response)
    {
        if (IsListening(4599))
        {
            // Something serves 127.0.0.1:4599 on this machine; then any HTTP answer is right.
            Assert.Equal(ErrorClass.Success, response.ErrorClass);
            return;
        }

        Assert.Equal(ErrorClass.Transient, response.ErrorClass);
        Assert.StartsWith("HTTP request failed: ", response.ErrorMessage, StringComparison.Ordinal);
    }

    private static bool IsListening(int port)
    {
        using var probe = new Socket(SocketType.Stream, ProtocolType.Tcp);
        try
        {
            probe.Connect(System.Net.IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static ExecuteRequestMessage Decode(byte[] frame) => IpcSerializer.ReadExecuteRequest(frame[5..], frame.Length - 5);

    private static byte[] Encode(ExecuteRequestMessage request)
    {
        var builder = new Google.FlatBuffers.FlatBufferBuilder(1024);
        IpcSerializer.Write(builder, request);
        return FrameCodec.Encode(MessageType.ExecuteRequest, IpcSerializer.Finished(builder));
    }

    /// <summary>What the original SDKs do: connect, write the frame, read exactly one frame, close.</summary>
    private async Task<(byte Type, byte[] Payload)> RoundTripAsync(byte[] frame)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(_server.SocketPath!));
        await socket.SendAsync(frame);
        var header = new byte[4];
        await ReceiveExactlyAsync(socket, header);
        var length = BinaryPrimitives.ReadUInt32BigEndian(header);
        Assert.InRange(length, 1U, (uint)FrameCodec.MaxPayloadLength + 1);
        var body = new byte[length];
        await ReceiveExactlyAsync(socket, body);
        return (body[0], body[1..]);
    }

    private static async Task ReceiveExactlyAsync(Socket socket, byte[] buffer)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None, timeout.Token);
            if (n == 0)
            {
                throw new IOException("The runtime closed the connection before answering.");
            }

            read += n;
        }
    }
}
