using System.Diagnostics;
using Worker.Connector.Http;
using Worker.Runtime.Tests.Support;
using Xunit.Abstractions;

namespace Worker.Runtime.Tests;

/// <summary>
/// Requests/s through client → runtime → HTTP endpoint against direct HttpClient → same endpoint, same run.
/// Printed, not asserted: a shared 2-core machine is too noisy for a threshold.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class ThroughputMeasurement : IClassFixture<UpstreamFixture>
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1.5);
    private readonly TestUpstream _upstream;
    private readonly ITestOutputHelper _output;

    public ThroughputMeasurement(UpstreamFixture fixture, ITestOutputHelper output)
    {
        _upstream = fixture.Upstream;
        _output = output;
    }

    [Fact]
    public async Task Requests_per_second_runtime_versus_direct()
    {
        await using var server = await TestRuntime.StartAsync();
        await using var client = TestRuntime.Client(server, poolSize: 4);
        using var direct = new HttpClient();
        var url = _upstream.Url("/json");
        var payload = TestRuntime.HttpPayload("GET", url);

        Func<Task> viaRuntime = () => client.ExecuteAsync(HttpPayloadSerializer.ConnectorName, HttpPayloadSerializer.OperationName, payload);
        Func<Task> viaDirect = async () =>
        {
            using var response = await direct.GetAsync(url);
            await response.Content.ReadAsStringAsync();
        };

        foreach (var concurrency in new[] { 1, 64 })
        {
            await MeasureAsync(viaDirect, concurrency, TimeSpan.FromMilliseconds(300));
            await MeasureAsync(viaRuntime, concurrency, TimeSpan.FromMilliseconds(300));
            var directRate = await MeasureAsync(viaDirect, concurrency, Window);
            var runtimeRate = await MeasureAsync(viaRuntime, concurrency, Window);
            _output.WriteLine($"concurrency {concurrency,2}: direct HttpClient {directRate,8:0} req/s | via runtime {runtimeRate,8:0} req/s ({runtimeRate / directRate:P0})");
        }
    }

    private static async Task<double> MeasureAsync(Func<Task> call, int concurrency, TimeSpan duration)
    {
        var done = 0L;
        var watch = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (watch.Elapsed < duration)
            {
                await call();
                Interlocked.Increment(ref done);
            }
        }));
        await Task.WhenAll(workers);
        return done / watch.Elapsed.TotalSeconds;
    }
}
