using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Worker.Connector;
using Worker.Connector.Http;
using Worker.Runtime.Configuration;
using Worker.Runtime.Diagnostics;
using Worker.Runtime.Server;
using Worker.Runtime.Tests.Support;

namespace Worker.Runtime.Tests;

/// <summary>Meter "Worker.Runtime": requests by connector and outcome, duration, in-flight and connections.</summary>
public sealed class MetricsTests : IClassFixture<UpstreamFixture>
{
    private readonly TestUpstream _upstream;

    public MetricsTests(UpstreamFixture fixture)
    {
        _upstream = fixture.Upstream;
    }

    [Fact]
    public async Task Requests_are_counted_by_connector_and_outcome_and_timed()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        var measurements = new ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener
        {
            // Only this test's server: its meter comes from this test's factory.
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == RuntimeDiagnostics.MeterName && instrument.Meter.Scope == meterFactory)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => measurements.Enqueue((i.Name, v, ToDictionary(tags))));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => measurements.Enqueue((i.Name, v, ToDictionary(tags))));
        listener.Start();

        var options = new RuntimeServerOptions { SocketPath = TestRuntime.NewSocketPath() };
        await using (var server = new RuntimeServer(options, loggerFactory: null, meterFactory))
        {
            await server.StartAsync(CancellationToken.None);
            await using var client = TestRuntime.Client(server);
            await client.ExecuteAsync(HttpPayloadSerializer.ConnectorName, HttpPayloadSerializer.OperationName, TestRuntime.HttpPayload("GET", _upstream.Url("/json")));
            await Assert.ThrowsAsync<ConnectorException>(() =>
                client.ExecuteAsync(HttpPayloadSerializer.ConnectorName, HttpPayloadSerializer.OperationName, TestRuntime.HttpPayload("GET", "ftp://x/")));
            await Assert.ThrowsAsync<ConnectorException>(() => client.ExecuteAsync("nope", "nope", TestRuntime.HttpPayload("GET", "http://x/")));
        }

        var requests = measurements.Where(m => m.Instrument == "worker.runtime.requests").ToArray();
        Assert.Contains(requests, m => Equals(m.Tags["connector"], "http") && Equals(m.Tags["outcome"], "success"));
        Assert.Contains(requests, m => Equals(m.Tags["connector"], "http") && Equals(m.Tags["outcome"], "invalid_request"));
        Assert.Contains(requests, m => Equals(m.Tags["connector"], "unknown") && Equals(m.Tags["outcome"], "invalid_request"));
        var durations = measurements.Where(m => m.Instrument == "worker.runtime.request.duration").ToArray();
        Assert.Equal(2, durations.Length);
        Assert.All(durations, d => Assert.InRange(d.Value, 0, 5));
        Assert.Equal(0, measurements.Where(m => m.Instrument == "worker.runtime.requests.active").Sum(m => m.Value));
        Assert.Equal(0, measurements.Where(m => m.Instrument == "worker.runtime.connections").Sum(m => m.Value));
        Assert.Contains(measurements, m => m.Instrument == "worker.runtime.connections" && m.Value == 1);
    }

    private static Dictionary<string, object?> ToDictionary(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var result = new Dictionary<string, object?>();
        foreach (var (key, value) in tags)
        {
            result[key] = value;
        }

        return result;
    }
}
