using System.Collections.Concurrent;
using System.Net.Sockets;
using Worker.Connector.Protocol;

namespace Worker.Connector.Tests;

/// <summary>
/// A protocol-level runtime for client tests: real Unix socket, real frames, a handler per request run
/// concurrently so answers can come back out of order. <see cref="KillAsync"/> drops every connection at once.
/// </summary>
internal sealed class TestRuntimeServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly Func<ExecuteRequestMessage, Task<ExecuteResponseMessage>> _handler;
    private readonly ConcurrentBag<Socket> _connections = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private int _accepted;
    private int _inFlight;
    private int _peakPerConnection;

    private TestRuntimeServer(string path, Func<ExecuteRequestMessage, Task<ExecuteResponseMessage>> handler)
    {
        SocketPath = path;
        _handler = handler;
        File.Delete(path);
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(path));
        _listener.Listen(512);
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public string SocketPath { get; }

    public int ConnectionsAccepted => Volatile.Read(ref _accepted);

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Most requests ever in flight on a single connection at once.</summary>
    public int PeakPerConnection => Volatile.Read(ref _peakPerConnection);

    public ConcurrentQueue<ExecuteRequestMessage> Received { get; } = new();

    public static string NewSocketPath() => Path.Combine(Path.GetTempPath(), $"wct-{Guid.NewGuid():N}"[..20] + ".sock");

    public static TestRuntimeServer Start(string path, Func<ExecuteRequestMessage, Task<ExecuteResponseMessage>> handler) => new(path, handler);

    /// <summary>Echoes the payload after the delay (ms) written as the payload's first two bytes... or none.</summary>
    public static TestRuntimeServer StartEcho(string path, Func<ExecuteRequestMessage, TimeSpan>? delay = null) =>
        new(path, async request =>
        {
            var wait = delay?.Invoke(request) ?? TimeSpan.Zero;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            return new ExecuteResponseMessage { RequestId = request.RequestId, Payload = request.Payload, DurationUs = (ulong)wait.TotalMicroseconds };
        });

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            _connections.Add(socket);
            _ = Task.Run(() => ServeAsync(socket));
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using var stream = new NetworkStream(socket, ownsSocket: true);
        using var writer = new FrameWriter(stream);
        var reader = new FrameReader(stream);
        var perConnection = 0;
        try
        {
            while (await reader.ReadAsync(_stop.Token) is { } frame)
            {
                using (frame)
                {
                    if (frame.Type == MessageType.HealthCheck)
                    {
                        var health = new HealthCheckResponseMessage(true, "test runtime", (uint)InFlight, 99);
                        await writer.WriteAsync(MessageType.HealthResponse, health, IpcSerializer.Write, _stop.Token);
                        continue;
                    }

                    var request = IpcSerializer.ReadExecuteRequest(frame.Buffer, frame.Length);
                    Received.Enqueue(request);
                    Interlocked.Increment(ref _inFlight);
                    var now = Interlocked.Increment(ref perConnection);
                    InterlockedMax(ref _peakPerConnection, now);
                    _ = Task.Run(async () =>
                    {
                        try
                        {
                            var response = await _handler(request);
                            await writer.WriteAsync(MessageType.ExecuteResponse, response, IpcSerializer.Write, _stop.Token);
                        }
                        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
                        {
                        }
                        finally
                        {
                            Interlocked.Decrement(ref perConnection);
                            Interlocked.Decrement(ref _inFlight);
                        }
                    });
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or ProtocolException)
        {
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while (value > (current = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    /// <summary>Closes the listener and every connection abruptly, as a crashed runtime would.</summary>
    public async Task KillAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        foreach (var socket in _connections)
        {
            try
            {
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }

            socket.Dispose();
        }

        await _acceptLoop;
        File.Delete(SocketPath);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await KillAsync();
        }

        _stop.Dispose();
    }
}
