using System.Net.Sockets;
using Worker.Connector;
using Worker.Connector.Http;
using Worker.Connector.Protocol;
using Worker.Runtime.Tests.Support;

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

    public HostileClientTests(UpstreamFixture fixture)
    {
        _upstream = fixture.Upstream;
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
        await using var server = await TestRuntime.StartAsync();
        var flood = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await flood.ConnectAsync(new UnixDomainSocketEndPoint(server.SocketPath!));
        var frames = Encode(Enumerable.Range(0, 1_100).Select(_ => TestRuntime.HttpRequest("GET", _upstream.Url("/hang"), TenYears)));

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
        await TestRuntime.EventuallyAsync(() => server.ActiveRequests >= 200, TimeSpan.FromSeconds(20), "the flood holds credits");
        await Task.Delay(200);
        var held = server.ActiveRequests;

        flood.Dispose();
        await sending;

        await TestRuntime.EventuallyAsync(() => server.ActiveRequests == 0, TimeSpan.FromSeconds(1), $"all {held} credits of the closed flood released");
        await using var client = TestRuntime.Client(server, timeout: TimeSpan.FromSeconds(1));
        var answer = await client.ExecuteAsync(HttpPayloadSerializer.ConnectorName, HttpPayloadSerializer.OperationName,
            TestRuntime.HttpPayload("GET", _upstream.Url("/json")), cancellationToken: CancellationToken.None);
        Assert.Equal(ErrorClass.Success, answer.ErrorClass);
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

            Assert.InRange(server.ActiveRequests, 0, 2);
        }
        finally
        {
            sink.Dispose();
            await sending;
        }

        await TestRuntime.EventuallyAsync(() => server.ActiveRequests == 0, TimeSpan.FromSeconds(2), "the sink's credits released after it closed");
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
