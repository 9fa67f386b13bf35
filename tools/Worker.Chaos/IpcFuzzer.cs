using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Google.FlatBuffers;
using Worker.Connector;
using Worker.Connector.Client;
using Worker.Connector.OpenAi;
using Worker.Connector.Protocol;
using Worker.Simulator.Generation;

namespace Worker.Chaos;

/// <summary>Settings of one IPC fuzz run against a runtime's Unix socket.</summary>
public sealed record FuzzOptions
{
    public required string SocketPath { get; init; }

    /// <summary>vastar-ipc-frames.json (the golden frames, mutated).</summary>
    public required string GoldenFramesPath { get; init; }

    /// <summary>The upstream the well-formed client calls through the runtime (the runtime must allow only it).</summary>
    public required Uri SimulatorBase { get; init; }

    /// <summary>Frames the runtime must have read (answered, or rejected by closing the connection).</summary>
    public int Frames { get; init; } = 100_000;

    public int Seed { get; init; } = 1;

    /// <summary>Fuzzing connections at once.</summary>
    public int Parallelism { get; init; } = 3;

    /// <summary>The fuzzing stops when this is spent, processed frames or not (a shortfall is then reported).</summary>
    public TimeSpan Budget { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>After the fuzzer half-closes, the runtime must close the connection within this.</summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The runtime's <c>Runtime:IdleTimeout</c>, <c>FrameTimeout</c> and <c>WriteTimeout</c> (the run sets all three to
    /// this): the hostile clients expect to be closed by the runtime within it plus <see cref="HostileSlack"/>.
    /// Null runs no hostile clients.
    /// </summary>
    public TimeSpan? RuntimeConnectionTimeout { get; init; }

    /// <summary>Room on top of <see cref="RuntimeConnectionTimeout"/> for a busy machine.</summary>
    public TimeSpan HostileSlack { get; init; } = TimeSpan.FromSeconds(10);

    public Action<string>? Log { get; init; }
}

/// <summary>
/// What a fuzz run did and saw. <see cref="FramesProcessed"/> counts frames the runtime read: answered, or rejected by
/// closing the connection. <see cref="FramesWritten"/> also counts frames written after such a close (never read).
/// </summary>
public sealed record FuzzReport(
    long FramesWritten,
    long FramesProcessed,
    long Responses,
    long HealthResponses,
    long Connections,
    long ConnectionsClosedEarly,
    long HungConnections,
    long RefusedConnections,
    long UnreadableAnswers,
    long WellFormedOk,
    long WellFormedFailed,
    IReadOnlyList<string> Errors,
    IReadOnlyDictionary<string, long> Cases,
    TimeSpan Elapsed,
    long HostileRounds = 0,
    long HostileFailures = 0)
{
    public string Summary =>
        $"{FramesProcessed:N0} frames processed by the runtime over {Connections:N0} connections in {Elapsed.TotalSeconds:0.0} s ({FramesWritten:N0} written) " +
        $"({Responses:N0} ExecuteResponses, {HealthResponses:N0} health answers, {ConnectionsClosedEarly:N0} connections closed on a bad frame); " +
        $"{HungConnections} hung, {RefusedConnections} refused, {UnreadableAnswers} unreadable answers; well-formed client {WellFormedOk:N0} ok / {WellFormedFailed} failed; " +
        $"{HostileRounds} rounds of hostile clients, {HostileFailures} not handled";
}

/// <summary>
/// Sends random and mutated frames (golden frames with flipped, replaced, cut and added bytes; random payloads; health
/// checks; valid requests for unknown operations and refused hosts; bad headers and types at the end of a connection)
/// to a runtime, while a well-formed client keeps running chat completions through the same runtime and checks each
/// answer. Every fuzz connection must be answered and then closed by the runtime once the fuzzer half-closes.
/// </summary>
public static class IpcFuzzer
{
    private static readonly byte[] Interesting = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE, 0x20, (byte)'"', (byte)'\\', (byte)'{'];

    public static async Task<FuzzReport> RunAsync(FuzzOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var golden = LoadGoldenRequests(options.GoldenFramesPath);
        var counters = new Counters();
        var clock = Stopwatch.StartNew();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(options.Budget);
        var wellFormed = RunWellFormedClientAsync(options, counters, stop.Token);
        var hostile = options.RuntimeConnectionTimeout is { } limit ? RunHostileClientsAsync(options, limit, counters, stop.Token) : Task.CompletedTask;
        var fuzzers = Enumerable.Range(0, options.Parallelism).Select(worker => Task.Run(async () =>
        {
            var random = new Random(options.Seed * 7919 + worker);
            try
            {
                while (Interlocked.Read(ref counters.Processed) < options.Frames && !budget.IsCancellationRequested)
                {
                    await FuzzConnectionAsync(options, random, golden, counters, budget.Token);
                }
            }
            catch (OperationCanceledException) when (budget.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                // Budget spent: the shortfall shows in FramesProcessed.
            }
        }, CancellationToken.None)).ToArray();

        var lastLog = TimeSpan.Zero;
        while (!fuzzers.All(f => f.IsCompleted))
        {
            await Task.WhenAny(Task.WhenAll(fuzzers), Task.Delay(1000, cancellationToken));
            if (clock.Elapsed - lastLog > TimeSpan.FromSeconds(10))
            {
                lastLog = clock.Elapsed;
                options.Log?.Invoke($"fuzz: {Interlocked.Read(ref counters.Processed):N0}/{options.Frames:N0} frames processed, {Interlocked.Read(ref counters.Connections):N0} connections, well-formed {Interlocked.Read(ref counters.WellFormedOk)} ok");
            }
        }

        await Task.WhenAll(fuzzers);
        await stop.CancelAsync();
        await wellFormed;
        await hostile;
        clock.Stop();
        return new FuzzReport(
            counters.Sent, counters.Processed, counters.Responses, counters.Health, counters.Connections, counters.ClosedEarly, counters.Hung, counters.Refused,
            counters.Unreadable, counters.WellFormedOk, counters.WellFormedFailed, [.. counters.Errors.Take(20)],
            counters.Cases.ToDictionary(c => c.Key, c => c.Value, StringComparer.Ordinal), clock.Elapsed, counters.HostileRounds, counters.HostileFailed);
    }

    /// <summary>The client→runtime frames of the golden file, whole (header included).</summary>
    public static List<byte[]> LoadGoldenRequests(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        return [.. document.RootElement.GetProperty("frames").EnumerateArray()
            .Where(f => f.GetProperty("direction").GetString() == "client->runtime")
            .Select(f => Convert.FromHexString(f.GetProperty("frame_hex").GetString()!))];
    }

    private static async Task FuzzConnectionAsync(FuzzOptions options, Random random, List<byte[]> golden, Counters counters, CancellationToken cancellationToken)
    {
        var frames = new List<byte[]>();
        var count = random.Next(20, 400);
        for (var i = 0; i < count; i++)
        {
            frames.Add(NextFrame(random, golden, counters));
        }

        var hasTail = random.Next(10) < 3;
        if (hasTail)
        {
            frames.Add(Tail(random, golden, counters));
        }

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(options.SocketPath), cancellationToken);
        }
        catch (SocketException ex)
        {
            // A few sequential clients never fill the backlog of a runtime that keeps accepting: this is a finding.
            Interlocked.Increment(ref counters.Refused);
            counters.Errors.Enqueue($"connect refused: {ex.SocketErrorCode}");
            await Task.Delay(100, cancellationToken);
            return;
        }

        Interlocked.Increment(ref counters.Connections);
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        var answers = ReadAnswersAsync(stream, counters);
        var sent = 0;
        try
        {
            // Several frames per write: frame boundaries must not depend on how the bytes arrive.
            for (var i = 0; i < frames.Count;)
            {
                var batch = random.Next(1, 8);
                var chunk = frames.Skip(i).Take(batch).SelectMany(f => f).ToArray();
                await stream.WriteAsync(chunk, cancellationToken);
                i += batch;
                sent = Math.Min(i, frames.Count);
            }

            socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is IOException or SocketException)
        {
            // The runtime closed the connection on a bad frame while we were still sending.
        }

        Interlocked.Add(ref counters.Sent, sent);
        var finished = await Task.WhenAny(answers, Task.Delay(options.CloseTimeout, cancellationToken));
        if (finished != answers)
        {
            Interlocked.Increment(ref counters.Hung);
            socket.Dispose();
            await answers;
            return;
        }

        // Every frame but the tail gets an answer; fewer answers means a frame was rejected by closing the connection.
        var responses = await answers;
        var closedEarly = responses < count;
        Interlocked.Add(ref counters.Processed, responses + (closedEarly || hasTail ? 1 : 0));
        if (closedEarly)
        {
            Interlocked.Increment(ref counters.ClosedEarly);
        }
    }

    /// <summary>Reads answers until the runtime closes; returns how many.</summary>
    private static async Task<int> ReadAnswersAsync(Stream stream, Counters counters)
    {
        var reader = new FrameReader(stream);
        var responses = 0;
        try
        {
            while (await reader.ReadAsync(CancellationToken.None) is { } frame)
            {
                using (frame)
                {
                    switch (frame.Type)
                    {
                        case MessageType.ExecuteResponse:
                            IpcSerializer.ReadExecuteResponse(frame.Buffer, frame.Length);
                            Interlocked.Increment(ref counters.Responses);
                            break;
                        case MessageType.HealthResponse:
                            IpcSerializer.ReadHealthCheckResponse(frame.Buffer, frame.Length);
                            Interlocked.Increment(ref counters.Health);
                            break;
                        case MessageType.CreditUpdate:
                            continue;
                        default:
                            Interlocked.Increment(ref counters.Unreadable);
                            break;
                    }

                    responses++;
                }
            }
        }
        catch (ProtocolException)
        {
            Interlocked.Increment(ref counters.Unreadable);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            await reader.CompleteAsync();
        }

        return responses;
    }

    private static byte[] NextFrame(Random r, List<byte[]> golden, Counters counters)
    {
        var pick = r.Next(100);
        var source = golden[r.Next(golden.Count)];
        var payload = source.AsSpan(FrameCodec.HeaderSize).ToArray();
        switch (pick)
        {
            case < 35:
                counters.Case("golden, bits flipped");
                for (var i = r.Next(1, 9); i > 0; i--)
                {
                    payload[r.Next(payload.Length)] ^= (byte)(1 << r.Next(8));
                }

                return Frame(0, payload);
            case < 50:
                counters.Case("golden, bytes replaced");
                for (var i = r.Next(1, 5); i > 0; i--)
                {
                    payload[r.Next(payload.Length)] = r.Next(2) == 0 ? Interesting[r.Next(Interesting.Length)] : (byte)r.Next(256);
                }

                return Frame(0, payload);
            case < 60:
                counters.Case("golden, payload cut");
                return Frame(0, payload[..r.Next(0, payload.Length)]);
            case < 65:
                counters.Case("golden, bytes added");
                var longer = new byte[payload.Length + r.Next(1, 200)];
                payload.CopyTo(longer, 0);
                r.NextBytes(longer.AsSpan(payload.Length));
                var at = r.Next(payload.Length);
                if (r.Next(2) == 0)
                {
                    // A chunk of the frame repeated somewhere else in it.
                    var length = Math.Min(r.Next(1, 64), payload.Length - at);
                    payload.AsSpan(at, length).CopyTo(longer.AsSpan(r.Next(longer.Length - length)));
                }

                return Frame(0, longer);
            case < 75:
                counters.Case("random payload");
                var random = new byte[r.Next(0, 400)];
                r.NextBytes(random);
                return Frame(0, random);
            case < 85:
                counters.Case("health check, random payload");
                var health = new byte[r.Next(0, 40)];
                r.NextBytes(health);
                return Frame((byte)MessageType.HealthCheck, health);
            case < 95:
                counters.Case("valid request, refused operation or host");
                return ValidButRefused(r);
            default:
                counters.Case("golden as captured (host not allowed)");
                return source;
        }
    }

    /// <summary>A last frame that breaks the connection: the runtime must close it and nothing else.</summary>
    private static byte[] Tail(Random r, List<byte[]> golden, Counters counters)
    {
        var header = new byte[FrameCodec.HeaderSize];
        switch (r.Next(6))
        {
            case 0:
                counters.Case("tail: length over 10 MiB");
                BinaryPrimitives.WriteUInt32BigEndian(header, (uint)r.NextInt64(FrameCodec.MaxPayloadLength + 2L, uint.MaxValue + 1L));
                return header;
            case 1:
                counters.Case("tail: length 0");
                return [0, 0, 0, 0, 0, 1, 2];
            case 2:
                counters.Case("tail: unknown or response type");
                byte[] responseTypes = [(byte)MessageType.ExecuteResponse, (byte)MessageType.HealthResponse, (byte)MessageType.CreditUpdate];
                var type = r.Next(2) == 0 ? (byte)r.Next(5, 256) : responseTypes[r.Next(responseTypes.Length)];
                return Frame(type, golden[0].AsSpan(FrameCodec.HeaderSize).ToArray());
            case 3:
                counters.Case("tail: frame cut short");
                var whole = golden[r.Next(golden.Count)];
                return whole[..r.Next(1, whole.Length - 1)];
            case 4:
                counters.Case("tail: 10 MiB declared, little sent");
                BinaryPrimitives.WriteUInt32BigEndian(header, FrameCodec.MaxPayloadLength + 1);
                header[4] = 0;
                return [.. header, .. new byte[r.Next(0, 1000)]];
            default:
                counters.Case("tail: random bytes");
                var bytes = new byte[r.Next(1, 300)];
                r.NextBytes(bytes);
                return bytes;
        }
    }

    private static byte[] ValidButRefused(Random r)
    {
        var (connector, operation, url) = r.Next(4) switch
        {
            0 => ("http", "request", $"http://10.{r.Next(256)}.{r.Next(256)}.{r.Next(256)}:{r.Next(1, 65536)}/v1/chat/completions"),
            1 => ("http", "request", $"https://example.com/{r.Next()}"),
            2 => ("nope" + r.Next(100), "request", "http://127.0.0.1:1/"),
            _ => ("http", "op" + r.Next(100), "http://127.0.0.1:1/"),
        };
        var payload = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["method"] = r.Next(2) == 0 ? "POST" : "BREW",
            ["url"] = url,
            ["headers"] = new Dictionary<string, string> { ["Authorization"] = "Bearer fuzz", ["X-" + r.Next()] = "v" },
            ["body"] = "{}",
        }));
        var builder = new FlatBufferBuilder(512);
        IpcSerializer.Write(builder, new ExecuteRequestMessage
        {
            RequestId = (ulong)r.NextInt64(),
            TenantId = "fuzz",
            ConnectorName = connector,
            Operation = operation,
            DeadlineAtMs = r.Next(3) == 0 ? 1 : (ulong)DateTimeOffset.UtcNow.AddSeconds(5).ToUnixTimeMilliseconds(),
            Payload = payload,
            Headers = r.Next(2) == 0 ? [] : [new("k" + r.Next(10), "v")],
        });
        return FrameCodec.Encode(MessageType.ExecuteRequest, IpcSerializer.Finished(builder));
    }

    private static byte[] Frame(byte type, byte[] payload)
    {
        var frame = new byte[FrameCodec.HeaderSize + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame, (uint)payload.Length + 1);
        frame[4] = type;
        payload.CopyTo(frame, FrameCodec.HeaderSize);
        return frame;
    }

    /// <summary>Chat completions through the runtime under fuzz, one after another, each checked against the deterministic answer.</summary>
    private static async Task RunWellFormedClientAsync(FuzzOptions options, Counters counters, CancellationToken cancellationToken)
    {
        await using var runtime = new RuntimeClient(new RuntimeClientOptions { SocketPath = options.SocketPath, PoolSize = 2, DefaultTimeout = TimeSpan.FromSeconds(10) });
        var chat = new OpenAiChatClient(runtime, new OpenAiOptions { BaseUrl = new Uri(options.SimulatorBase, "v1").ToString(), ApiKey = "", Model = "gpt-4o-mini" });
        for (var i = 0; !cancellationToken.IsCancellationRequested; i++)
        {
            var prompt = $"well-formed {i}";
            try
            {
                if (i % 10 == 0)
                {
                    var health = await runtime.HealthCheckAsync(TimeSpan.FromSeconds(10), cancellationToken);
                    if (!health.Healthy)
                    {
                        throw new InvalidOperationException($"health check answered unhealthy: {health.Message}");
                    }
                }

                var completion = await chat.CompleteAsync(new ChatCompletionRequest { Messages = [ChatMessage.User(prompt)], Stream = i % 2 == 0, Timeout = TimeSpan.FromSeconds(10) }, cancellationToken);
                if (completion.Content != AnswerGenerator.Generate("gpt-4o-mini", prompt))
                {
                    throw new InvalidOperationException($"wrong content for '{prompt}': {completion.Content}");
                }

                Interlocked.Increment(ref counters.WellFormedOk);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is ConnectorException or InvalidOperationException)
            {
                Interlocked.Increment(ref counters.WellFormedFailed);
                counters.Errors.Enqueue($"#{i}: {ex.GetType().Name}: {ex.Message}");
            }
        }
    }

    /// <summary>
    /// Clients that try to keep what the runtime gives them, in rounds until the fuzzing ends: requests with deadlines
    /// ten years away to an upstream that hangs, then a disconnect (their credits must come back at once); then, at the
    /// same time, a client that never reads its answers (closed by the write timeout), 50 idle connections (idle
    /// timeout) and 5 frames that announce 10 MiB and stop half-way (frame timeout).
    /// </summary>
    private static async Task RunHostileClientsAsync(FuzzOptions options, TimeSpan limit, Counters counters, CancellationToken cancellationToken)
    {
        var within = limit + options.HostileSlack;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await HugeDeadlinesThenDisconnectAsync(options, counters, cancellationToken);
                await Task.WhenAll(
                    NeverReadingClientAsync(options, within, counters, cancellationToken),
                    IdleFloodAsync(options, within, counters, cancellationToken),
                    HalfFramesAsync(options, within, counters, cancellationToken));
                Interlocked.Increment(ref counters.HostileRounds);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The fuzzing is over; a round cut short proves nothing either way.
        }
    }

    private static async Task HugeDeadlinesThenDisconnectAsync(FuzzOptions options, Counters counters, CancellationToken cancellationToken)
    {
        const int Requests = 50;
        counters.Case("hostile: 10-year deadlines to a hanging upstream, then disconnect");
        var tenYears = (ulong)DateTimeOffset.UtcNow.AddYears(10).ToUnixTimeMilliseconds();
        var frames = Enumerable.Range(0, Requests).SelectMany(i => SimulatorRequest(options, tenYears, new() { ["X-Sim-Fault"] = "hang" })).ToArray();
        using (var socket = await ConnectAsync(options, cancellationToken))
        {
            await socket.SendAsync(frames, SocketFlags.None, cancellationToken);
            await using var probe = new RuntimeClient(new RuntimeClientOptions { SocketPath = options.SocketPath, PoolSize = 1 });
            if (!await WaitForActiveAsync(probe, a => a >= Requests, TimeSpan.FromSeconds(10), cancellationToken))
            {
                HostileFailed(counters, $"huge deadlines: the runtime never had the {Requests} hanging requests in flight");
                return;
            }
        }

        // Closed: their credits must come back long before any deadline or Runtime:UpstreamTimeout.
        await using var client = new RuntimeClient(new RuntimeClientOptions { SocketPath = options.SocketPath, PoolSize = 1 });
        if (!await WaitForActiveAsync(client, a => a < Requests / 2, TimeSpan.FromSeconds(2), cancellationToken))
        {
            HostileFailed(counters, "huge deadlines: 2 s after the client disconnected its hanging requests still held their credits");
        }
    }

    private static async Task NeverReadingClientAsync(FuzzOptions options, TimeSpan within, Counters counters, CancellationToken cancellationToken)
    {
        counters.Case("hostile: never reads its answers");
        var frames = Enumerable.Range(0, 20).SelectMany(_ => SimulatorRequest(options, 0, new() { ["X-Sim-Tokens"] = "20000", ["X-Sim-Latency"] = "ttft=0ms,token=0ms" })).ToArray();
        using var socket = await ConnectAsync(options, cancellationToken);
        using var sending = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        sending.CancelAfter(within);
        try
        {
            await socket.SendAsync(frames, SocketFlags.None, sending.Token);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // Closed by the runtime while sending (or the runtime stopped reading: it still has to close us below).
        }

        // Never reading: the runtime's close shows as a refused (zero-byte) send, not as end of stream.
        var until = DateTime.UtcNow + within;
        while (DateTime.UtcNow < until)
        {
            try
            {
                await socket.SendAsync(ReadOnlyMemory<byte>.Empty, SocketFlags.None, cancellationToken);
            }
            catch (SocketException)
            {
                return;
            }

            await Task.Delay(100, cancellationToken);
        }

        HostileFailed(counters, $"never-reading client: still connected after {within.TotalSeconds:0} s");
    }

    private static async Task IdleFloodAsync(FuzzOptions options, TimeSpan within, Counters counters, CancellationToken cancellationToken)
    {
        counters.Case("hostile: 50 idle connections");
        var sockets = new List<Socket>();
        try
        {
            for (var i = 0; i < 50; i++)
            {
                sockets.Add(await ConnectAsync(options, cancellationToken));
            }

            var closed = await Task.WhenAll(sockets.Select(s => ClosedByRuntimeAsync(s, within, cancellationToken)));
            if (closed.Count(c => !c) is var open and > 0)
            {
                HostileFailed(counters, $"idle flood: {open} of 50 idle connections still open after {within.TotalSeconds:0} s");
            }
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }

    private static async Task HalfFramesAsync(FuzzOptions options, TimeSpan within, Counters counters, CancellationToken cancellationToken)
    {
        counters.Case("hostile: 5 frames announcing 10 MiB, stopped half-way");
        var half = new byte[FrameCodec.HeaderSize + (FrameCodec.MaxPayloadLength / 2)];
        BinaryPrimitives.WriteUInt32BigEndian(half, FrameCodec.MaxPayloadLength + 1);
        var sockets = new List<Socket>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                sockets.Add(await ConnectAsync(options, cancellationToken));
            }

            await Task.WhenAll(sockets.Select(async s =>
            {
                try
                {
                    await s.SendAsync(half, SocketFlags.None, cancellationToken);
                }
                catch (SocketException)
                {
                    // Closed by the frame timeout before all of the half was sent: also fine.
                }
            }));
            var closed = await Task.WhenAll(sockets.Select(s => ClosedByRuntimeAsync(s, within, cancellationToken)));
            if (closed.Count(c => !c) is var open and > 0)
            {
                HostileFailed(counters, $"half frames: {open} of 5 connections with a half-sent frame still open after {within.TotalSeconds:0} s");
            }
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
        }
    }

    private static async Task<Socket> ConnectAsync(FuzzOptions options, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(options.SocketPath), cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Whether the runtime closes <paramref name="socket"/> (end of stream or reset) within <paramref name="within"/>.</summary>
    private static async Task<bool> ClosedByRuntimeAsync(Socket socket, TimeSpan within, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(within);
        var buffer = new byte[4096];
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token) > 0)
            {
            }

            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private static async Task<bool> WaitForActiveAsync(RuntimeClient client, Func<uint, bool> condition, TimeSpan within, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + within;
        while (true)
        {
            var health = await client.HealthCheckAsync(TimeSpan.FromSeconds(10), cancellationToken);
            if (condition(health.ActiveRequests))
            {
                return true;
            }

            if (DateTime.UtcNow > until)
            {
                return false;
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>A chat completion request to the simulator, as a whole frame.</summary>
    private static byte[] SimulatorRequest(FuzzOptions options, ulong deadlineAtMs, Dictionary<string, string> headers)
    {
        headers["Content-Type"] = "application/json";
        var payload = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["method"] = "POST",
            ["url"] = new Uri(options.SimulatorBase, "v1/chat/completions").ToString(),
            ["headers"] = headers,
            ["body"] = """{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hostile"}],"stream":false}""",
        }));
        var builder = new FlatBufferBuilder(1024);
        IpcSerializer.Write(builder, new ExecuteRequestMessage
        {
            RequestId = (ulong)Random.Shared.NextInt64(),
            TenantId = "hostile",
            ConnectorName = "http",
            Operation = "request",
            DeadlineAtMs = deadlineAtMs,
            Payload = payload,
        });
        return FrameCodec.Encode(MessageType.ExecuteRequest, IpcSerializer.Finished(builder));
    }

    private static void HostileFailed(Counters counters, string what)
    {
        Interlocked.Increment(ref counters.HostileFailed);
        counters.Errors.Enqueue(what);
    }

    private sealed class Counters
    {
        public long HostileRounds;
        public long HostileFailed;
        public long Sent;
        public long Processed;
        public long Responses;
        public long Health;
        public long Connections;
        public long ClosedEarly;
        public long Hung;
        public long Refused;
        public long Unreadable;
        public long WellFormedOk;
        public long WellFormedFailed;

        public ConcurrentQueue<string> Errors { get; } = new();

        public ConcurrentDictionary<string, long> Cases { get; } = new(StringComparer.Ordinal);

        public void Case(string name) => Cases.AddOrUpdate(name, 1, static (_, n) => n + 1);
    }
}
