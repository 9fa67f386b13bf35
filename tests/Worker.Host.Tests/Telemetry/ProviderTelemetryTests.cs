using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Worker.Connector.OpenAi;
using Worker.Host.Telemetry;

namespace Worker.Host.Tests.Telemetry;

/// <summary>The chat span and the gen_ai metrics name the provider that answered, not a constant.</summary>
public sealed class ProviderTelemetryTests
{
    [Fact]
    public void Span_and_metrics_carry_the_answering_provider_and_response_model()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        using var telemetry = new WorkerTelemetry(meters);
        var providers = new List<string?>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // This test's meter only: other tests' workers record the same instrument meanwhile.
            if (instrument.Meter.Name == WorkerTelemetry.SourceName && ReferenceEquals(instrument.Meter.Scope, meters) && instrument.Name == "gen_ai.client.operation.duration")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, _, tags, _) =>
        {
            foreach (var (key, tag) in tags)
            {
                if (key == "gen_ai.provider.name")
                {
                    providers.Add((string?)tag);
                }
            }
        });
        listener.Start();
        using var activity = new Activity("chat").Start();
        var completion = new ChatCompletion { Model = "claude-sonnet-4-5-20250929", Provider = "anthropic", Choices = [new ChatChoice { Content = "Hi", FinishReason = "stop" }] };

        telemetry.ChatSucceeded(activity, completion, "claude-sonnet-4-5", server: null, TimeSpan.FromSeconds(1), provider: "anthropic");
        telemetry.ChatFailed(null, "gemini-2.0-flash", server: null, TimeSpan.FromSeconds(1), "Transient", provider: "gemini");

        Assert.Equal("anthropic", activity.GetTagItem("gen_ai.provider.name"));
        Assert.Equal("claude-sonnet-4-5-20250929", activity.GetTagItem("gen_ai.response.model"));
        Assert.Equal(["anthropic", "gemini"], providers);
    }
}
