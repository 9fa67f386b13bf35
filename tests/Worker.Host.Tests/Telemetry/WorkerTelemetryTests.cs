using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Worker.Connector.OpenAi;
using Worker.Host.Telemetry;

namespace Worker.Host.Tests.Telemetry;

/// <summary>The worker's metrics follow the OpenTelemetry gen_ai conventions: names, instrument kinds, bucket advice, attributes.</summary>
public sealed class WorkerTelemetryTests
{
    [Fact]
    public void Chat_metrics_are_the_gen_ai_histograms_with_their_bucket_advice_and_attributes()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        using var telemetry = new WorkerTelemetry(meters);
        var instruments = new Dictionary<string, Instrument>();
        var measurements = new List<(string Name, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // This test's meter only: other tests' worker meters record on their own threads, and their measurements
            // landing in this list at the same time broke it (a measurement counted twice in a clean-clone run).
            if (instrument.Meter.Name == WorkerTelemetry.SourceName && ReferenceEquals(instrument.Meter.Scope, meters))
            {
                instruments[instrument.Name] = instrument;
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => measurements.Add((i.Name, v, Tags(tags))));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => measurements.Add((i.Name, v, Tags(tags))));
        listener.Start();

        var completion = new ChatCompletion { Model = "gpt-4o-mini-2024", Usage = new ChatUsage(9, 7, 16), Choices = [new ChatChoice { Content = "x" }] };
        telemetry.ChatSucceeded(null, completion, "gpt-4o-mini", new Uri("https://api.example.com:8443/v1/chat/completions"), TimeSpan.FromSeconds(0.47));
        telemetry.ChatFailed(null, "gpt-4o-mini", null, TimeSpan.FromSeconds(1), "RateLimited", 429);

        var tokens = Assert.IsType<Histogram<long>>(instruments["gen_ai.client.token.usage"]);
        Assert.Equal("{token}", tokens.Unit);
        Assert.Contains(67108864L, tokens.Advice!.HistogramBucketBoundaries!);
        var duration = Assert.IsType<Histogram<double>>(instruments["gen_ai.client.operation.duration"]);
        Assert.Equal("s", duration.Unit);
        Assert.Contains(0.64, duration.Advice!.HistogramBucketBoundaries!);
        Assert.Contains(0.32, Assert.IsType<Histogram<double>>(instruments["worker.job.duration"]).Advice!.HistogramBucketBoundaries!);

        var input = Assert.Single(measurements, m => m.Name == "gen_ai.client.token.usage" && (string?)m.Tags["gen_ai.token.type"] == "input");
        Assert.Equal(9, input.Value);
        Assert.Equal(("chat", "openai", "gpt-4o-mini", "gpt-4o-mini-2024", "api.example.com", 8443),
            (input.Tags["gen_ai.operation.name"], input.Tags["gen_ai.provider.name"], input.Tags["gen_ai.request.model"], input.Tags["gen_ai.response.model"], input.Tags["server.address"], input.Tags["server.port"]));
        var failed = Assert.Single(measurements, m => m.Name == "gen_ai.client.operation.duration" && m.Tags.ContainsKey("error.type"));
        Assert.Equal("RateLimited", failed.Tags["error.type"]);
        Assert.DoesNotContain(measurements, m => m.Tags.ContainsKey("gen_ai.system"));
    }

    private static Dictionary<string, object?> Tags(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var result = new Dictionary<string, object?>();
        foreach (var (key, value) in tags)
        {
            result[key] = value;
        }

        return result;
    }
}
