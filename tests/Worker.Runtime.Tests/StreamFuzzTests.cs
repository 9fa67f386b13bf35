using System.Buffers.Binary;
using System.Net.Sockets;
using Google.FlatBuffers;
using Microsoft.Extensions.Logging;
using Worker.Connector.Http;
using Worker.Connector.Protocol;
using Worker.Runtime.Tests.Support;

namespace Worker.Runtime.Tests;

/// <summary>
/// 10,000 fuzzed frames of the stream message types (5-10), each connection also carrying a real streamed request:
/// a bad frame costs its connection, never the runtime, and every credit comes back.
/// </summary>
public sealed class StreamFuzzTests : IAsyncLifetime
{
    private const int FuzzFrames = 10_000;
    private const int FramesPerConnection = 20;
    private StreamingUpstream _upstream = null!;

    public async Task InitializeAsync() => _upstream = await StreamingUpstream.StartAsync();

    public async Task DisposeAsync() => await _upstream.DisposeAsync();

    [Fact]
    public async Task Ten_thousand_fuzzed_stream_frames_cost_connections_never_the_runtime()
    {
        var logs = new ListLoggerProvider();
        var crashes = new ExceptionLog();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).AddProvider(crashes).SetMinimumLevel(LogLevel.Warning));
        await using var server = await TestRuntime.StartAsync(o => o.AllowedHosts.Add("127.0.0.1"), loggerFactory);
        var valid = ValidPayloads();
        var sent = 0;
        var workers = Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
        {
            var random = new Random(777 + worker);
            while (Interlocked.Add(ref sent, FramesPerConnection) <= FuzzFrames + FramesPerConnection - 1)
            {
                var request = TestRuntime.HttpRequest("GET", _upstream.Url("/words/3/1")) with { Headers = [StreamProtocol.Header(StreamProtocol.MinWindow)] };
                var bytes = new List<byte>(Encode(MessageType.ExecuteRequest, request, IpcSerializer.Write));
                for (var i = 1; i < FramesPerConnection; i++)
                {
                    bytes.AddRange(NextFrame(random, valid, request.RequestId));
                }

                await FireAsync(server.SocketPath!, [.. bytes]);
            }
        })).ToArray();
        await Task.WhenAll(workers);

        await TestRuntime.EventuallyAsync(() => server.OpenConnections == 0, TimeSpan.FromSeconds(30), "all fuzz connections closed");
        await TestRuntime.EventuallyAsync(() => server.ActiveRequests == 0, TimeSpan.FromSeconds(30), "no request in flight");
        var errors = logs.Lines.Where(l => l.Level >= LogLevel.Error).Select(l => l.Text).ToArray();
        Assert.True(errors.Length == 0, string.Join(Environment.NewLine, errors.Concat(crashes.Exceptions)));

        await using var client = TestRuntime.Client(server);
        await using var response = await client.StreamHttpAsync(HttpRequest.Get(_upstream.Url("/words/2/1")));
        Assert.True(response.IsStreamed);
        var body = await response.ReadWholeAsync(1024 * 1024);
        Assert.EndsWith(StreamingUpstream.Done, body.Body, StringComparison.Ordinal);
    }

    /// <summary>One frame of a stream type: a valid payload (maybe for the live request), a mutated one, or garbage.</summary>
    private static byte[] NextFrame(Random random, (MessageType Type, byte[] Payload)[] valid, ulong liveRequestId)
    {
        switch (random.Next(4))
        {
            case 0:
                return Encode(MessageType.StreamWindow, new StreamWindowMessage(liveRequestId, (uint)random.Next()), IpcSerializer.Write);
            case 1:
                var (type, payload) = valid[random.Next(valid.Length)];
                var copy = (byte[])payload.Clone();
                for (var flips = random.Next(1, 6); flips > 0; flips--)
                {
                    copy[random.Next(copy.Length)] = (byte)random.Next(256);
                }

                return FrameCodec.Encode(type, copy);
            case 2:
                var garbage = new byte[random.Next(0, 48)];
                random.NextBytes(garbage);
                return FrameCodec.Encode((MessageType)random.Next(5, 11), garbage);
            default:
                return FrameCodec.Encode(valid[random.Next(valid.Length)].Type, valid[random.Next(valid.Length)].Payload);
        }
    }

    private static (MessageType, byte[])[] ValidPayloads() =>
    [
        (MessageType.CancelRequest, Payload(new CancelRequestMessage(12345), IpcSerializer.Write)),
        (MessageType.StreamWindow, Payload(new StreamWindowMessage(12345, 4096), IpcSerializer.Write)),
        (MessageType.StreamStart, Payload(new StreamStartMessage(1, 4096), IpcSerializer.Write)),
        (MessageType.StreamHead, Payload(new StreamHeadMessage { RequestId = 1, StatusCode = 200, Headers = [new("a", "b")] }, IpcSerializer.Write)),
        (MessageType.StreamChunk, Payload((1UL, (ReadOnlyMemory<byte>)new byte[32]), IpcSerializer.WriteStreamChunk)),
        (MessageType.StreamEnd, Payload(new StreamEndMessage { RequestId = 1, ErrorMessage = "x" }, IpcSerializer.Write)),
    ];

    private static byte[] Payload<T>(T message, Action<FlatBufferBuilder, T> build)
    {
        var builder = new FlatBufferBuilder(64);
        build(builder, message);
        return IpcSerializer.Finished(builder).ToArray();
    }

    private static byte[] Encode<T>(MessageType type, T message, Action<FlatBufferBuilder, T> build) =>
        FrameCodec.Encode(type, Payload(message, build));

    /// <summary>Writes, half-closes, and reads until the runtime closes; every frame that comes back must be well formed.</summary>
    private static async Task FireAsync(string socketPath, byte[] bytes)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        try
        {
            await socket.SendAsync(bytes);
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var buffer = new byte[64 * 1024];
        var received = new List<byte>();
        try
        {
            int n;
            while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                received.AddRange(buffer.AsSpan(0, n));
            }
        }
        catch (SocketException)
        {
            // Reset by the runtime after a bad frame: fine.
        }

        var at = 0;
        var all = received.ToArray();
        while (at + 5 <= all.Length)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(all.AsSpan(at));
            Assert.InRange(all[at + 4], (byte)1, (byte)10);
            at += 4 + (int)length;
        }
    }

    /// <summary>Keeps the exceptions logged with errors, so a crash found by the fuzz says what it was.</summary>
    private sealed class ExceptionLog : ILoggerProvider, ILogger
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> Exceptions { get; } = new();

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (exception is not null)
            {
                Exceptions.Enqueue(exception.ToString());
            }
        }

        public void Dispose()
        {
        }
    }
}
