using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Google.FlatBuffers;
using Worker.Connector;
using Worker.Connector.Protocol;
using Worker.Runtime.Configuration;
using Worker.Runtime.Server;

namespace Worker.Chaos.Tests;

/// <summary>
/// The 10 MiB frame limit of the runtime socket: a frame of exactly 10 MiB is read and answered, a header announcing
/// one byte more closes that connection before any payload is buffered, and other connections carry on.
/// </summary>
public sealed class FrameLimitTests : IAsyncLifetime
{
    private readonly RuntimeServer _server = new(new RuntimeServerOptions
    {
        SocketPath = Path.Combine("/tmp", $"wframe-{Convert.ToHexString(RandomNumberGenerator.GetBytes(5)).ToLowerInvariant()}.sock"),
        AllowedHosts = { "allowed.invalid" },
    });

    public Task InitializeAsync() => _server.StartAsync(CancellationToken.None);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_frame_of_exactly_ten_mebibytes_is_read_and_answered()
    {
        var frame = RequestFrame(FrameCodec.MaxPayloadLength, requestId: 77);
        Assert.Equal(FrameCodec.HeaderSize + FrameCodec.MaxPayloadLength, frame.Length);
        using var socket = await ConnectAsync();
        await using var stream = new NetworkStream(socket);

        await stream.WriteAsync(frame);
        var answer = await ReadResponseAsync(stream);

        Assert.Equal(77UL, answer.RequestId);
        Assert.Equal(ErrorClass.InvalidRequest, answer.ErrorClass);
        Assert.Contains("not allowed", answer.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_header_announcing_one_byte_more_closes_only_that_connection_before_the_payload_is_buffered()
    {
        using var bystander = await ConnectAsync();
        await using var bystanderStream = new NetworkStream(bystander);
        using var victim = await ConnectAsync();
        var header = new byte[FrameCodec.HeaderSize];
        BinaryPrimitives.WriteUInt32BigEndian(header, FrameCodec.MaxPayloadLength + 2);

        await victim.SendAsync(header);
        var buffer = new byte[16];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var read = await victim.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);

        Assert.Equal(0, read);
        await bystanderStream.WriteAsync(RequestFrame(0, requestId: 5));
        Assert.Equal(5UL, (await ReadResponseAsync(bystanderStream)).RequestId);
    }

    /// <summary>An ExecuteRequest frame (refused host) whose payload is <paramref name="payloadLength"/> bytes (0: as small as it gets).</summary>
    private static byte[] RequestFrame(int payloadLength, ulong requestId)
    {
        byte[] Build(int padding)
        {
            var http = JsonSerializer.SerializeToUtf8Bytes(new { method = "POST", url = "http://refused.invalid/", body = new string('x', padding) });
            var builder = new FlatBufferBuilder(Math.Max(1024, padding + 1024));
            IpcSerializer.Write(builder, new ExecuteRequestMessage
            {
                RequestId = requestId,
                TenantId = "t",
                ConnectorName = "http",
                Operation = "request",
                Payload = http,
            });
            return IpcSerializer.Finished(builder).ToArray();
        }

        var padding = 0;
        var payload = Build(padding);
        while (payloadLength > 0 && payload.Length != payloadLength)
        {
            // The FlatBuffers layout (alignment) may shift by a few bytes: converge on the exact size.
            padding += payloadLength - payload.Length;
            payload = Build(padding);
        }

        return FrameCodec.Encode(MessageType.ExecuteRequest, payload);
    }

    private async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(_server.SocketPath!));
        return socket;
    }

    private static async Task<ExecuteResponseMessage> ReadResponseAsync(Stream stream)
    {
        var reader = new FrameReader(stream);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var frame = await reader.ReadAsync(timeout.Token) ?? throw new IOException("closed without an answer");
        Assert.Equal(MessageType.ExecuteResponse, frame.Type);
        return IpcSerializer.ReadExecuteResponse(frame.Buffer, frame.Length);
    }
}
