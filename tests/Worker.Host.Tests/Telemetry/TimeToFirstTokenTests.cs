using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Worker.Connector.OpenAi;
using Worker.Host.Contracts;
using Worker.Host.Handling;
using Worker.Host.Processing;
using Worker.Host.Telemetry;

namespace Worker.Host.Tests.Telemetry;

/// <summary>Time to first token of a streamed answer: on the result (ttft_ms), as the gen_ai histogram, and as a span event.</summary>
public sealed class TimeToFirstTokenTests
{
    private static readonly ChatCompletion Streamed = new()
    {
        Model = "m-1",
        Streamed = true,
        Choices = [new ChatChoice { Content = "Paris.", FinishReason = "stop" }],
        TimeToFirstToken = TimeSpan.FromMilliseconds(123.456),
        FirstTokenAt = new DateTimeOffset(2026, 12, 2, 1, 2, 3, TimeSpan.Zero),
    };

    private static readonly ChatCompletion Whole = Streamed with { Streamed = false, TimeToFirstToken = null, FirstTokenAt = null };

    [Fact]
    public void A_streamed_result_carries_ttft_ms_and_a_whole_one_does_not()
    {
        var builder = new ResultBuilder();
        var job = new Job { Id = "j1", Tenant = "t", Request = new ChatCompletionRequest { Messages = [ChatMessage.User("hi")] } };
        var delivery = new JobDelivery(ReadOnlyMemory<byte>.Empty, false, Stopwatch.GetTimestamp());

        var streamed = builder.Succeeded(job, "m", Streamed, 1, delivery);
        var whole = builder.Succeeded(job, "m", Whole, 1, delivery);

        Assert.Equal(123.5, streamed.TtftMs);
        using (var json = JsonDocument.Parse(ResultSerializer.Serialize(streamed, batchOutputForm: false)))
        {
            Assert.Equal(123.5, json.RootElement.GetProperty("ttft_ms").GetDouble());
        }

        Assert.Null(whole.TtftMs);
        using (var json = JsonDocument.Parse(ResultSerializer.Serialize(whole, batchOutputForm: false)))
        {
            Assert.False(json.RootElement.TryGetProperty("ttft_ms", out _));
        }
    }

    [Fact]
    public void The_gen_ai_time_to_first_chunk_histogram_and_a_span_event_record_streamed_answers_only()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        using var telemetry = new WorkerTelemetry(meters);
        Histogram<double>? histogram = null;
        var measurements = new List<(double Value, string? Model)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // This test's meter only: other tests' workers record the same instrument meanwhile.
            if (instrument.Meter.Name == WorkerTelemetry.SourceName && ReferenceEquals(instrument.Meter.Scope, meters) && instrument.Name == "gen_ai.client.operation.time_to_first_chunk")
            {
                histogram = (Histogram<double>)instrument;
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            string? model = null;
            foreach (var (key, tag) in tags)
            {
                model = key == "gen_ai.request.model" ? (string?)tag : model;
            }

            measurements.Add((value, model));
        });
        listener.Start();
        using var activity = new Activity("chat").Start();

        telemetry.ChatSucceeded(activity, Streamed, "m", server: null, TimeSpan.FromSeconds(1));
        telemetry.ChatSucceeded(null, Whole, "m", server: null, TimeSpan.FromSeconds(1));

        Assert.NotNull(histogram);
        Assert.Equal("s", histogram.Unit);
        Assert.Contains(0.16, histogram.Advice!.HistogramBucketBoundaries!);
        var measured = Assert.Single(measurements);
        Assert.Equal(0.123456, measured.Value, precision: 6);
        Assert.Equal("m", measured.Model);
        var firstToken = Assert.Single(activity.Events, e => e.Name == "gen_ai.first_token");
        Assert.Equal(Streamed.FirstTokenAt, firstToken.Timestamp);
    }
}
