using System.Diagnostics;
using System.Net.Sockets;
using Worker.Connector;
using Worker.Connector.Client;
using Worker.Connector.Http;
using Worker.Connector.Protocol;
using Worker.Runtime.Tests.Support;
using Xunit.Abstractions;

namespace Worker.Runtime.Tests;

/// <summary>
/// Clients that try to keep the runtime's credits: huge deadlines, floods followed by a disconnect, never reading the
/// answers. Real runtime, real Unix sockets, a real Kestrel upstream that never answers (/hang).
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class HostileClientTests : IClassFixture<UpstreamFixture>
{
    private static readonly ulong TenYears = TestRuntime.DeadlineIn(TimeSpan.FromDays(3650));
    private readonly TestUpstream _upstream;
    private readonly ITestOutputHelper _output;

    public HostileClientTests(UpstreamFixture fixture, ITestOutputHelper output)
    {
        _upstream = fixture.Upstream;
        _output = output;
    }

    [Fact]
    public async Task A_deadline_ten_years_away_is_capped_at_Runtime_UpstreamTimeout()
    {
        await using var server = await TestRuntime.StartAsync(o => o.UpstreamTimeout = TimeSpan.FromMilliseconds(300));
        await using var connection = await RawConnection.ConnectAsync(server.SocketPath!);

        await connection.SendAsync(TestRuntime.HttpRequest("GET", _upstream.Url("/hang"), TenYears));
        var response = await connection.ReadResponseAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(ErrorClass.Timeout, response.ErrorClass);
        Assert.Contains("Runtime:UpstreamTimeout", response.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(0, server.ActiveRequests);
    }

    [Fact]
    public async Task Closing_a_flooding_connection_releases_its_credits_at_once_and_a_well_formed_client_is_served()
    {
        // Default limits: the flood can take its share, a quarter of the 1,024 credits (before the fix: all of them).
        await using var server = await TestRuntime.StartAsync();

        // The flood's upstream accepts and never answers. A bare listener rather than Kestrel's /hang: 1,024 aborted
        // requests would keep an in-process Kestrel (sharing this process's two cores) busy past the second measured.
        await using var blackHole = BlackHole.Start();

        // A well-formed client already at work (its first call also warms the code paths, so the second below times
        // only the runtime).
        await using var client = TestRuntime.Client(server, timeout: TimeSpan.FromSeconds(1));
        Assert.Equal(ErrorClass.Success, (await GetJsonAsync(client, TimeSpan.FromSeconds(10))).ErrorClass);
        var flood = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await flood.ConnectAsync(new UnixDomainSocketEndPoint(server.SocketPath!));
        var frames = Encode(Enumerable.Range(0, 1_100).Select(_ => TestRuntime.HttpRequest("GET", blackHole.Url, TenYears)));

        // The runtime stops reading once the flood holds all it may; the rest of the bytes stay in the socket.
        var sending = Task.Run(async () =>
        {
            try
            {
                await flood.SendAsync(frames, SocketFlags.None);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // Closed under the pending send below.
            }
        });
        await TestRuntime.EventuallyAsync(() => server.ActiveRequests >= 256, TimeSpan.FromSeconds(30), "the flood holds its share");
        await Task.Delay(200);
        var held = server.ActiveRequests;
        Assert.Equal(256, held);
        Assert.Equal(ErrorClass.Success, (await GetJsonAsync(client, TimeSpan.FromSeconds(1))).ErrorClass);

        flood.Dispose();
        await sending;
        var closed = Stopwatch.StartNew();

        // Sent right after the close, with one second to be answered.
        var answer = await GetJsonAsync(client, TimeSpan.FromSeconds(1));
        var served = closed.Elapsed;
        Assert.Equal(ErrorClass.Success, answer.ErrorClass);
        await TestRuntime.EventuallyAsync(() => server.ActiveRequests == 0, TimeSpan.FromSeconds(1) - closed.Elapsed, $"all {held} credits of the closed flood released within 1 s");
        _output.WriteLine($"well-formed client served {served.TotalMilliseconds:0} ms after the flood closed; all {held} credits back after {closed.Elapsed.TotalMilliseconds:0} ms");
        await TestRuntime.EventuallyAsync(() => server.OpenConnections == 1, TimeSpan.FromSeconds(5), "the flood connection closed");
    }

    [Fact]
    public async Task A_client_that_never_reads_its_answers_holds_at_most_its_share_and_others_are_served()
    {
        // MaxInFlight 8: the default per-connection share is a quarter of it, 2.
        await using var server = await TestRuntime.StartAsync(o => o.MaxInFlight = 8);
        var sink = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await sink.ConnectAsync(new UnixDomainSocketEndPoint(server.SocketPath!));
        var frames = Encode(Enumerable.Range(0, 40).Select(_ => TestRuntime.HttpRequest("GET", _upstream.Url("/big?bytes=1000000"), TenYears)));
        var sending = Task.Run(async () =>
        {
            try
            {
                await sink.SendAsync(frames, SocketFlags.None);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // Closed under the pending send at the end.
            }
        });

        try
        {
            await TestRuntime.EventuallyAsync(() => server.ActiveRequests >= 1, TimeSpan.FromSeconds(10), "the sink's requests started");
            await using var client = TestRuntime.Client(server, timeout: TimeSpan.FromSeconds(10));
            for (var i = 0; i < 3; i++)
            {
                var answer = await client.ExecuteAsync(HttpPayloadSerializer.ConnectorName, HttpPayloadSerializer.OperationName,
                    TestRuntime.HttpPayload("GET", _upstream.Url("/json")), cancellationToken: CancellationToken.None);
                Assert.Equal(ErrorClass.Success, answer.ErrorClass);
            }

            // The well-formed client's last credit returns just after its answer is written: wait for that, not for the sink.
            await TestRuntime.EventuallyAsync(() => server.ActiveRequests <= 2, TimeSpan.FromSeconds(2), "only the sink's share (2) held");
            await Task.Delay(300);
            Assert.InRange(server.ActiveRequests, 0, 2);
        }
        finally
        {
            sink.Dispose();
            await sending;
        }

        await TestRuntime.EventuallyAsync(() => server.ActiveRequests == 0, TimeSpan.FromSeconds(2), "the sink's credits released after it closed");
    }

    private Task<ExecuteResponseMessage> GetJsonAsync(RuntimeClient client, TimeSpan timeout) =>
        client.ExecuteAsync(HttpPayloadSerializer.ConnectorName, HttpPayloadSerializer.OperationName,
            TestRuntime.HttpPayload("GET", _upstream.Url("/json")), new RuntimeCallOptions { Timeout = timeout }, CancellationToken.None);

    /// <summary>A TCP listener on loopback that accepts every connection, reads nothing and never answers.</summary>
    private sealed class BlackHole : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(System.Net.IPAddress.Loopback, 0);
        private readonly List<Socket> _accepted = [];
        private readonly CancellationTokenSource _stop = new();
        private Task _accepting = Task.CompletedTask;

        public string Url => $"http://127.0.0.1:{((System.Net.IPEndPoint)_listener.LocalEndpoint).Port}/hang";

        public static BlackHole Start()
        {
            var hole = new BlackHole();
            hole._listener.Start(4096);
            hole._accepting = hole.AcceptAsync();
            return hole;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _accepting;
            lock (_accepted)
            {
                _accepted.ForEach(s => s.Dispose());
            }

            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            try
            {
                while (true)
                {
                    var socket = await _listener.AcceptSocketAsync(_stop.Token);
                    lock (_accepted)
                    {
                        _accepted.Add(socket);
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // Stopped.
            }
        }
    }

    internal static byte[] Encode(IEnumerable<ExecuteRequestMessage> requests)
    {
        using var buffer = new MemoryStream();
        using var writer = new FrameWriter(buffer);
        foreach (var request in requests)
        {
            writer.WriteAsync(MessageType.ExecuteRequest, request, IpcSerializer.Write, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }

        return buffer.ToArray();
    }
}
