using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Trace;
using Worker.Chaos.Tests.Support;
using Worker.Host.Tests.Integration;
using Worker.Simulator.Options;
using Worker.Testing;
using Xunit.Abstractions;

namespace Worker.Chaos.Tests;

/// <summary>
/// The API key (and the Authorization value) never shows up in logs at any level, in spans (tags, events, status),
/// in results, in dead letters or in exception messages: checked after a run with the right key (with upstream faults
/// on the error paths) and a run with a wrong key (401), everything captured at Trace level.
/// </summary>
[Collection(RabbitMqBrokerCollection.Name)]
public sealed class SecretHygieneTests(RabbitMqBrokerFixture broker, ITestOutputHelper output)
{
    [Fact]
    public async Task The_api_key_appears_in_no_log_span_result_dead_letter_or_exception()
    {
        var key = "sk-right-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(20)).ToLowerInvariant();
        var wrongKey = "sk-wrong-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(20)).ToLowerInvariant();
        var logs = new CapturingLoggerProvider();
        var spans = new List<Activity>();
        var texts = new List<(string Where, string Text)>();

        // 1. The right key, with 429/500/drop/malformed/error-event faults so the error paths run too.
        await using (var harness = await StartAsync(key, configuredKey: key, logs, spans, faults: 0.4))
        {
            await harness.PublishAsync(Enumerable.Range(0, 12).Select(i => JsonSerializer.Serialize(new { id = $"right-{i}", prompt = $"secret test {i}" })));
            await harness.PublishAsync(["{not json", """{"id":"poison-1","prompt":5}"""]);
            await harness.PublishAsync(["""{"id":"invalid-1","prompt":"p","params":{"temperature":9}}"""]);
            var results = await harness.ResultsAsync(14, TimeSpan.FromSeconds(60));
            Assert.Contains(results, r => r.Status == "succeeded");
            texts.AddRange(results.Select(r => ("result " + r.Id, Describe(r))));
            texts.AddRange((await harness.DeadLettersAsync(2)).Select(d => ("dead letter", Encoding.UTF8.GetString(d.Body.Span) + " " + Headers(d.BasicProperties.Headers))));
        }

        // 2. A wrong key: the upstream answers 401 (its error body echoes the key's last characters).
        await using (var harness = await StartAsync(key, configuredKey: wrongKey, logs, spans, faults: 0))
        {
            await harness.PublishAsync(Enumerable.Range(0, 4).Select(i => JsonSerializer.Serialize(new { id = $"wrong-{i}", prompt = $"secret test {i}" })));
            var results = await harness.ResultsAsync(4, TimeSpan.FromSeconds(60));
            Assert.All(results, r => Assert.Equal("Permanent", r.Json.GetProperty("error").GetProperty("class").GetString()));
            Assert.Equal(4, harness.Simulator.Stats.Snapshot().Outcomes.Unauthorized);
            texts.AddRange(results.Select(r => ("result " + r.Id, Describe(r))));
        }

        texts.AddRange(logs.Entries.Select(e => ("log", e)));
        lock (spans)
        {
            texts.AddRange(spans.Select(s => ("span", SpanText.Of(s))));
        }

        output.WriteLine($"scanned {texts.Count} texts: {logs.Entries.Count} log entries, {spans.Count} spans, the rest results and dead letters");
        Assert.Contains(texts, t => t.Where == "log" && (t.Text.StartsWith("Trace", StringComparison.Ordinal) || t.Text.StartsWith("Debug", StringComparison.Ordinal)));
        Assert.Contains(texts, t => t.Where == "span" && t.Text.Contains("Worker.Runtime", StringComparison.Ordinal));
        foreach (var secret in new[] { key, wrongKey })
        {
            // The whole key, and any 16-character piece of it (a key cut short or partly masked still leaks).
            var pieces = Enumerable.Range(0, secret.Length - 15).Select(i => secret.Substring(i, 16)).Append("Bearer " + secret);
            var leaks = texts.Where(t => pieces.Any(p => t.Text.Contains(p, StringComparison.Ordinal))).ToList();
            Assert.True(leaks.Count == 0, $"the key leaked into {leaks.Count} place(s), e.g. {leaks.FirstOrDefault().Where}: {leaks.FirstOrDefault().Text}");
        }
    }

    private Task<WorkerHarness> StartAsync(string simulatorKey, string configuredKey, CapturingLoggerProvider logs, List<Activity> spans, double faults) =>
        WorkerHarness.StartAsync(broker, new SimulatorOptions
        {
            ApiKey = simulatorKey,
            Faults = new FaultOptions { Rate = faults, Seed = 5, Modes = ["rate_limit", "server_error", "drop", "malformed", "error_event"] },
        }, s =>
        {
            s["Llm:ApiKey"] = configuredKey;
            s["Resilience:MaxRetryAttempts"] = "6";
            s["Telemetry:Tracing"] = "true";
        }, services: s =>
        {
            s.AddLogging(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
            s.AddOpenTelemetry().WithTracing(t => t.SetSampler(new AlwaysOnSampler()).AddInMemoryExporter(spans));
        });

    private static string Describe(WorkerHarness.Delivered result) =>
        result.Json.GetRawText() + " " + Headers(result.Headers) + " " + result.CorrelationId;

    private static string Headers(IDictionary<string, object?>? headers) =>
        headers is null ? "" : string.Join(" ", headers.Select(h => $"{h.Key}={(h.Value is byte[] b ? Encoding.UTF8.GetString(b) : h.Value)}"));
}
