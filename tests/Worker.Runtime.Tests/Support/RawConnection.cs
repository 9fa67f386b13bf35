using System.Net.Sockets;
using Worker.Connector.Protocol;

namespace Worker.Runtime.Tests.Support;

/// <summary>A bare protocol connection (our shared frame reader/writer over a real socket), for tests below the client.</summary>
internal sealed class RawConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly FrameReader _reader;
    private readonly FrameWriter _writer;

    private RawConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        _reader = new FrameReader(_stream);
        _writer = new FrameWriter(_stream);
    }

    public Socket Socket => _socket;

    public static async Task<RawConnection> ConnectAsync(string socketPath)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
            return new RawConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public ValueTask SendAsync(ExecuteRequestMessage request) =>
        _writer.WriteAsync(MessageType.ExecuteRequest, request, IpcSerializer.Write, CancellationToken.None);

    public ValueTask SendHealthCheckAsync() =>
        _writer.WriteAsync(MessageType.HealthCheck, 0, static (builder, _) => IpcSerializer.WriteHealthCheck(builder), CancellationToken.None);

    public ValueTask SendRawAsync(byte[] bytes) => _writer.WriteRawAsync(bytes, CancellationToken.None);

    /// <summary>The next frame, or null at end of stream.</summary>
    public async Task<(MessageType Type, byte[] Payload)?> ReadFrameAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        var frame = await _reader.ReadAsync(cancel.Token);
        if (frame is not { } f)
        {
            return null;
        }

        using (f)
        {
            return (f.Type, f.Payload.ToArray());
        }
    }

    public async Task<ExecuteResponseMessage> ReadResponseAsync(TimeSpan? timeout = null)
    {
        var frame = await ReadFrameAsync(timeout) ?? throw new IOException("The runtime closed the connection.");
        Assert.Equal(MessageType.ExecuteResponse, frame.Type);
        return IpcSerializer.ReadExecuteResponse(frame.Payload, frame.Payload.Length);
    }

    public async Task<HealthCheckResponseMessage> ReadHealthAsync(TimeSpan? timeout = null)
    {
        var frame = await ReadFrameAsync(timeout) ?? throw new IOException("The runtime closed the connection.");
        Assert.Equal(MessageType.HealthResponse, frame.Type);
        return IpcSerializer.ReadHealthCheckResponse(frame.Payload, frame.Payload.Length);
    }

    public async ValueTask DisposeAsync()
    {
        await _reader.CompleteAsync();
        await _stream.DisposeAsync();
        _writer.Dispose();
    }
}
