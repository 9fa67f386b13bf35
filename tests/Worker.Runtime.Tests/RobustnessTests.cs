using System.Buffers.Binary;
using System.Net.Sockets;
using Google.FlatBuffers;
using Microsoft.Extensions.Logging;
using Worker.Connector;
using Worker.Connector.Http;
using Worker.Connector.Protocol;
using Worker.Runtime.Tests.Support;
using Xunit.Abstractions;

namespace Worker.Runtime.Tests;

/// <summary>Bad input closes (or answers) one connection, with one warning; the runtime and other connections carry on.</summary>
public sealed class RobustnessTests : IClassFixture<UpstreamFixture>
{
    private const int FuzzFrames = 10_000;
    private readonly TestUpstream _upstream;
    private readonly ITestOutputHelper _output;

    public RobustnessTests(UpstreamFixture fixture, ITestOutputHelper output)
    {
        _upstream = fixture.Upstream;
        _output = output;
    }

    [Fact]
    public async Task Missing_required_field_with_readable_id_is_answered_invalid_request_and_the_connection_stays()
    {
        var logs = new ListLoggerProvider();
        using var loggerFactory = ListLoggerProvider.CreateFactory(logs);
        await using var server = await TestRuntime.StartAsync(loggerFactory: loggerFactory);
        await using var connection = await RawConnection.ConnectAsync(server.SocketPath!);

        await connection.SendRawAsync(RequestWithoutTenant(4242));
        var response = await connection.ReadResponseAsync();

        Assert.Equal(4242UL, response.RequestId);
        Assert.Equal(ErrorClass.InvalidRequest, response.ErrorClass);
        Assert.Contains("tenant_id", response.ErrorMessage, StringComparison.Ordinal);
        var warning = Assert.Single(logs.Lines, l => l.Level >= LogLevel.Warning);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("4242", warning.Text, StringComparison.Ordinal);

        await connection.SendAsync(TestRuntime.HttpRequest("GET", _upstream.Url("/json")));
        Assert.Equal(ErrorClass.Success, (await connection.ReadResponseAsync()).ErrorClass);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 0, 0, 0 }, "Frame length 0")]
    [InlineData(new byte[] { 0x00, 0xA0, 0x00, 0x02, 0 }, "exceeds")]
    [InlineData(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0 }, "exceeds")]
    [InlineData(new byte[] { 0, 0, 0, 2, 9, 0 }, "Unexpected message type 9")]
    [InlineData(new byte[] { 0, 0, 0, 2, 1, 0 }, "Unexpected message type 1")]
    [InlineData(new byte[] { 0, 0, 0, 3, 0, 1, 2 }, "too short")]
    [InlineData(new byte[] { 0, 0, 0, 9, 0, 1, 2 }, "middle of a frame")]
    public async Task Broken_frames_close_only_their_connection_with_one_warning(byte[] bytes, string reason)
    {
        var logs = new ListLoggerProvider();
        using var loggerFactory = ListLoggerProvider.CreateFactory(logs);
        await using var server = await TestRuntime.StartAsync(loggerFactory: loggerFactory);
        await using var bystander = await RawConnection.ConnectAsync(server.SocketPath!);
        await using var victim = await RawConnection.ConnectAsync(server.SocketPath!);

        await victim.SendRawAsync(bytes);
        victim.Socket.Shutdown(SocketShutdown.Send);

        Assert.Null(await victim.ReadFrameAsync());
        await TestRuntime.EventuallyAsync(() => server.OpenConnections == 1, TimeSpan.FromSeconds(5), "the bad connection closed");
        var warning = Assert.Single(logs.Lines, l => l.Level >= LogLevel.Warning);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains(reason, warning.Text, StringComparison.Ordinal);
        await bystander.SendAsync(TestRuntime.HttpRequest("GET", _upstream.Url("/json")));
        Assert.Equal(ErrorClass.Success, (await bystander.ReadResponseAsync()).ErrorClass);
    }

    [Fact]
    public async Task Ten_thousand_fuzzed_frames_leave_the_runtime_serving()
    {
        var logs = new ListLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Warning));

        // Mutated golden requests may come out with a plausible URL: keep them on loopback, never on the network.
        await using var server = await TestRuntime.StartAsync(o => o.AllowedHosts.Add("127.0.0.1"), loggerFactory);
        var golden = new[] { 1001UL, 1002UL, 1003UL }.Select(id => GoldenVectors.Bytes(GoldenVectors.ByRequestId(id, 0))).ToArray();
        var sent = 0;
        var answers = 0;
        var connections = 0;
        var workers = Enumerable.Range(0, 8).Select(worker => Task.Run(async () =>
        {
            var random = new Random(1234 + worker);
            while (Volatile.Read(ref sent) < FuzzFrames)
            {
                var (bytes, frames) = NextCase(random, golden);
                Interlocked.Add(ref sent, frames);
                Interlocked.Increment(ref connections);
                Interlocked.Add(ref answers, await FireAsync(server.SocketPath!, bytes));
            }
        })).ToArray();
        await Task.WhenAll(workers);

        _output.WriteLine($"{sent} fuzzed frames over {connections} connections; {answers} answers; {logs.Lines.Count} warnings.");
        Assert.True(sent >= FuzzFrames);
        await TestRuntime.EventuallyAsync(() => server.OpenConnections == 0, TimeSpan.FromSeconds(15), "all fuzz connections closed");
        await TestRuntime.EventuallyAsync(() => server.ActiveRequests == 0, TimeSpan.FromSeconds(15), "no request in flight");
        Assert.DoesNotContain(logs.Lines, l => l.Level >= LogLevel.Error);

        await using var client = TestRuntime.Client(server);
        var response = await client.ExecuteAsync(HttpPayloadSerializer.ConnectorName, HttpPayloadSerializer.OperationName, TestRuntime.HttpPayload("GET", _upstream.Url("/json")));
        Assert.Equal(200, HttpPayloadSerializer.DeserializeResponse(response.Payload.Span).StatusCode);
        var health = await client.HealthCheckAsync();
        Assert.True(health.Healthy);
    }

    /// <summary>Bytes for one connection and how many frames they hold (a truncated frame counts as one).</summary>
    private static (byte[] Bytes, int Frames) NextCase(Random random, byte[][] golden)
    {
        switch (random.Next(8))
        {
            case 0:
                return (RandomBytes(random, random.Next(1, 200)), 1);
            case 1:
                return (Batch(random, 20, () => Frame(0, RandomBytes(random, random.Next(0, 300)))), 20);
            case 2:
                return (Batch(random, 20, () => Mutate(random, golden[random.Next(golden.Length)])), 20);
            case 3:
                var oversize = new byte[8];
                BinaryPrimitives.WriteUInt32BigEndian(oversize, (uint)random.NextInt64(FrameCodec.MaxPayloadLength + 2L, uint.MaxValue + 1L));
                return (oversize, 1);
            case 4:
                return (new byte[] { 0, 0, 0, 0, 0, 1, 2 }, 1);
            case 5:
                return (Frame((byte)random.Next(5, 256), RandomBytes(random, random.Next(0, 50))), 1);
            case 6:
                var whole = golden[random.Next(golden.Length)];
                return (whole[..random.Next(1, whole.Length - 1)], 1);
            default:
                return (Batch(random, 20, () => Frame((byte)MessageType.HealthCheck, RandomBytes(random, random.Next(0, 40)))), 20);
        }
    }

    /// <summary>Writes, hangs up the sending side, and reads until the runtime closes; returns the frames answered.</summary>
    private static async Task<int> FireAsync(string socketPath, byte[] bytes)
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
            // The runtime may close after the first bad frame while the rest is still being written.
            return 0;
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

        return CountFrames(received.ToArray());
    }

    private static int CountFrames(byte[] bytes)
    {
        var count = 0;
        var at = 0;
        while (at + 5 <= bytes.Length)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at));
            Assert.InRange(bytes[at + 4], (byte)1, (byte)4);
            at += 4 + (int)length;
            count++;
        }

        return count;
    }

    private static byte[] Mutate(Random random, byte[] frame)
    {
        var copy = (byte[])frame.Clone();
        var flips = random.Next(1, 9);
        for (var i = 0; i < flips; i++)
        {
            copy[random.Next(5, copy.Length)] = (byte)random.Next(256);
        }

        return copy;
    }

    private static byte[] Frame(byte type, byte[] payload)
    {
        var bytes = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, (uint)payload.Length + 1);
        bytes[4] = type;
        payload.CopyTo(bytes, 5);
        return bytes;
    }

    private static byte[] Batch(Random random, int count, Func<byte[]> next) =>
        Enumerable.Range(0, count).SelectMany(_ => next()).ToArray();

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] RequestWithoutTenant(ulong requestId)
    {
        // Built by hand: the generated EndExecuteRequest refuses to finish a table without its required fields.
        var builder = new FlatBufferBuilder(256);
        var connector = builder.CreateString("http");
        var operation = builder.CreateString("request");
        builder.StartTable(9);
        builder.AddUlong(0, requestId, 0);
        builder.AddOffset(4, connector.Value, 0);
        builder.AddOffset(5, operation.Value, 0);
        builder.Finish(builder.EndTable());
        return FrameCodec.Encode(MessageType.ExecuteRequest, builder.SizedByteArray());
    }
}
