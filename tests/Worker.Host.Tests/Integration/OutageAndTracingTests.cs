using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using Worker.Host.Consuming;
using Worker.Host.Contracts;
using Worker.Host.Telemetry;
using Worker.Runtime.Configuration;
using Worker.Runtime.Server;
using Worker.Simulator.Generation;
using Worker.Testing;

namespace Worker.Host.Tests.Integration;

[Collection(RabbitMqBrokerCollection.Name)]
public sealed class OutageAndTracingTests(RabbitMqBrokerFixture broker)
{
    private static string Job(string id, string prompt) => $$"""{"id":"{{id}}","prompt":"{{prompt}}"}""";

    [Fact]
    public async Task Runtime_outage_pauses_intake_fails_nothing_and_resumes_when_it_is_back()
    {
        await using var harness = await WorkerHarness.StartAsync(broker, configure: s => s["Runtime:Embedded"] = "false", startWorker: false);
        var runtime = new RuntimeServer(new RuntimeServerOptions { SocketPath = harness.SocketPath });
        await runtime.StartAsync(CancellationToken.None);
        await harness.StartWorkerAsync();
        await harness.PublishAsync([Job("before", "Before the outage")]);
        Assert.Equal(JobStatus.Succeeded, Assert.Single(await harness.ResultsAsync(1)).Status);

        await runtime.DisposeAsync();
        await harness.PublishAsync(Enumerable.Range(0, 10).Select(i => Job($"during-{i}", $"During the outage {i}")));
        var consumer = harness.Service<RabbitMqJobSource>();
        Assert.True(await Eventually.TrueAsync(() => consumer.Paused, TimeSpan.FromSeconds(30)), "intake should pause while the runtime is down");
        Assert.Empty(await harness.ResultsWithinAsync(TimeSpan.FromSeconds(3)));
        // Nothing failed and nothing was answered: the jobs wait in the queue (or unacked in hand, being requeued).
        Assert.InRange(await harness.QueueDepthAsync(harness.JobsQueue), 1u, 10u);

        await using var restarted = new RuntimeServer(new RuntimeServerOptions { SocketPath = harness.SocketPath });
        await restarted.StartAsync(CancellationToken.None);
        var results = await harness.ResultsAsync(10, TimeSpan.FromSeconds(60));
        Assert.All(results, r => Assert.Equal(JobStatus.Succeeded, r.Status));
        Assert.Equal(10, results.Select(r => r.Id).Distinct().Count());
        Assert.False(consumer.Paused);
    }

    [Fact]
    public async Task One_trace_links_producer_process_chat_runtime_http_and_publish()
    {
        var spans = new List<Activity>();
        using var producerSource = new ActivitySource("test.producer");
        await using var harness = await WorkerHarness.StartAsync(broker, configure: s => s["Telemetry:Tracing"] = "true", services: s =>
            s.AddOpenTelemetry().WithTracing(t => t.AddSource("test.producer").AddInMemoryExporter(spans)));

        ActivityTraceId traceId;
        ActivitySpanId producerSpan;
        using (var producer = producerSource.StartActivity("send jobs", ActivityKind.Producer))
        {
            Assert.NotNull(producer);
            traceId = producer.TraceId;
            producerSpan = producer.SpanId;
            var headers = new Dictionary<string, object?>();
            AmqpTraceContext.Inject(producer, headers);
            await harness.PublishAsync([Job("traced", "Trace me")], headers);
        }

        var result = Assert.Single(await harness.ResultsAsync(1));
        Assert.Equal(AnswerGenerator.Generate("gpt-4o-mini", "Trace me"), result.Content);
        Assert.True(result.Headers.ContainsKey("traceparent"), "the result carries trace context");

        async Task<Activity> Span(Func<Activity, bool> match, string what)
        {
            Activity? Find()
            {
                lock (spans)
                {
                    return spans.FirstOrDefault(s => s.TraceId == traceId && match(s));
                }
            }

            if (await Eventually.FindAsync(Find, TimeSpan.FromSeconds(10)) is { } found)
            {
                return found;
            }

            lock (spans)
            {
                Assert.Fail($"no {what} span in trace {traceId}; spans: {string.Join(", ", spans.Select(s => $"{s.Source.Name}:{s.DisplayName}:{s.Kind}:{s.TraceId}"))}");
            }

            return null!;
        }

        var process = await Span(s => s.Source.Name == WorkerTelemetry.SourceName && s.Kind == ActivityKind.Consumer, "process");
        var chat = await Span(s => s.Source.Name == WorkerTelemetry.SourceName && s.DisplayName.StartsWith("chat ", StringComparison.Ordinal), "chat");
        var client = await Span(s => s.Source.Name == Worker.Connector.ConnectorDiagnostics.ActivitySourceName, "runtime client");
        var server = await Span(s => s.Source.Name == "Worker.Runtime" && s.Kind == ActivityKind.Server, "runtime server");
        var http = await Span(s => s.Kind == ActivityKind.Client && s.Source.Name.Contains("Http", StringComparison.Ordinal), "outbound HTTP");
        var publish = await Span(s => s.Source.Name == RabbitMQ.Client.RabbitMQActivitySource.PublisherSourceName && s.ParentSpanId == process.SpanId, "result publish");

        // In this process RabbitMQ.Client's publisher span wraps the test's publish too: producer → publish → process.
        var jobPublish = await Span(s => s.Source.Name == RabbitMQ.Client.RabbitMQActivitySource.PublisherSourceName && s.ParentSpanId == producerSpan, "job publish");
        Assert.Equal(jobPublish.SpanId, process.ParentSpanId);
        Assert.Equal(process.SpanId, chat.ParentSpanId);
        Assert.Equal(chat.SpanId, client.ParentSpanId);
        Assert.Equal(client.SpanId, server.ParentSpanId);
        Assert.Equal(server.SpanId, http.ParentSpanId);
        Assert.Equal(process.SpanId, publish.ParentSpanId);
        Assert.Equal(ActivityKind.Producer, publish.Kind);
        Assert.Equal("chat", chat.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("gpt-4o-mini", chat.GetTagItem("gen_ai.request.model"));
        Assert.NotNull(chat.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal("rabbitmq", process.GetTagItem("messaging.system"));

        // Current semantic conventions (messaging + gen_ai).
        Assert.NotNull(process.GetTagItem("messaging.rabbitmq.message.delivery_tag"));
        Assert.Null(process.GetTagItem("messaging.rabbitmq.delivery_tag"));
        Assert.Equal(harness.JobsQueue, process.GetTagItem("messaging.rabbitmq.destination.routing_key"));
        Assert.NotNull(process.GetTagItem("server.address"));
        Assert.NotNull(process.GetTagItem("server.port"));
        Assert.Equal("openai", chat.GetTagItem("gen_ai.provider.name"));
        Assert.Null(chat.GetTagItem("gen_ai.system"));
        Assert.Equal("127.0.0.1", chat.GetTagItem("server.address"));
    }

    [Fact]
    public async Task Jobs_sent_with_the_enqueue_command_carry_a_sampled_trace_context()
    {
        await using var harness = await WorkerHarness.StartAsync(broker, startWorker: false);
        await harness.DeclareTopologyAsync();
        var configuration = Microsoft.Extensions.Configuration.MemoryConfigurationBuilderExtensions.AddInMemoryCollection(new Microsoft.Extensions.Configuration.ConfigurationBuilder(), harness.Settings).Build();
        var output = new StringWriter();
        var exit = await new Worker.Host.Cli.EnqueueCommand(configuration, output, TextWriter.Null).RunAsync(
            new Worker.Host.Cli.EnqueueCommand.Arguments("Trace me", null, 1, null, null, false, null, TimeSpan.FromSeconds(10)), CancellationToken.None);
        Assert.Equal(0, exit);

        var job = await harness.GetJobAsync();
        var traceparent = System.Text.Encoding.UTF8.GetString((byte[])job.BasicProperties.Headers!["traceparent"]!);
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-01$", traceparent);
    }
}
