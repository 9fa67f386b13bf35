using System.Collections.Concurrent;
using System.Diagnostics;
using Worker.Connector.Client;
using Worker.Connector.Http;
using Worker.Runtime.Diagnostics;
using Worker.Runtime.Tests.Support;

namespace Worker.Runtime.Tests;

/// <summary>The runtime's server span continues the caller's trace, and the outbound HTTP call carries it on.</summary>
public sealed class TracingTests : IClassFixture<UpstreamFixture>, IDisposable
{
    private readonly TestUpstream _upstream;
    private readonly ActivityListener _listener;
    private readonly ConcurrentQueue<Activity> _stopped = new();

    public TracingTests(UpstreamFixture fixture)
    {
        _upstream = fixture.Upstream;
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == RuntimeDiagnostics.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose() => _listener.Dispose();

    [Fact]
    public async Task W3C_traceparent_makes_the_server_span_its_child_and_reaches_the_upstream()
    {
        var traceId = ActivityTraceId.CreateRandom();
        var parentSpan = ActivitySpanId.CreateRandom();
        var id = Guid.NewGuid().ToString("N");

        await CallTraceAsync(id, $"00-{traceId}-{parentSpan}-01");

        var span = Assert.Single(_stopped, a => a.TraceId == traceId);
        Assert.Equal(ActivityKind.Server, span.Kind);
        Assert.Equal("runtime http.request", span.DisplayName);
        Assert.Equal(parentSpan, span.ParentSpanId);
        var upstreamParent = _upstream.TraceParents[id];
        Assert.NotNull(upstreamParent);
        Assert.Equal(traceId.ToHexString(), upstreamParent!.Split('-')[1]);
    }

    [Fact]
    public async Task Bare_trace_id_of_the_original_sdks_is_kept_as_the_trace()
    {
        var traceId = ActivityTraceId.CreateRandom();
        var id = Guid.NewGuid().ToString("N");

        await CallTraceAsync(id, traceId.ToHexString().ToUpperInvariant());

        var span = Assert.Single(_stopped, a => a.TraceId == traceId);
        Assert.Equal(ActivityKind.Server, span.Kind);
        Assert.NotEqual(default, span.ParentSpanId);
        Assert.Equal(traceId.ToHexString(), _upstream.TraceParents[id]!.Split('-')[1]);
    }

    [Theory]
    [InlineData("00000000000000000000000000000000")]
    [InlineData("not-a-trace")]
    [InlineData("00-zz-yy-01")]
    public void Unusable_trace_ids_give_no_parent(string traceId) =>
        Assert.False(TraceParent.TryParse(traceId, out _));

    private async Task CallTraceAsync(string id, string traceId)
    {
        await using var server = await TestRuntime.StartAsync();
        await using var client = TestRuntime.Client(server);
        await client.ExecuteAsync(
            HttpPayloadSerializer.ConnectorName,
            HttpPayloadSerializer.OperationName,
            TestRuntime.HttpPayload("GET", _upstream.Url($"/trace?id={id}")),
            new RuntimeCallOptions { TraceId = traceId });
    }
}
