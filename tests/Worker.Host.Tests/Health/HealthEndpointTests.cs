using System.Net;
using System.Text.RegularExpressions;
using Worker.Host.Telemetry;
using Worker.Host.Tests.Integration;
using Worker.Runtime.Configuration;
using Worker.Runtime.Server;
using Worker.Testing;

namespace Worker.Host.Tests.Health;

/// <summary>
/// <c>/healthz</c>, <c>/readyz</c> and <c>/metrics</c> of a real worker host (real broker, runtime and simulator),
/// read over HTTP as a kubelet or Prometheus would.
/// </summary>
[Collection(RabbitMqBrokerCollection.Name)]
public sealed partial class HealthEndpointTests(RabbitMqBrokerFixture broker) : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly string _url = $"http://127.0.0.1:{FreeTcpPort.Pick()}";

    private static string Job(string id) => $$"""{"id":"{{id}}","prompt":"Health {{id}}"}""";

    [Fact]
    public async Task Live_and_ready_when_consuming_and_metrics_carry_the_job_and_queue_signals()
    {
        await using var harness = await WorkerHarness.StartAsync(broker, configure: s => s["Worker:HealthUrl"] = _url);

        var live = await GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, live.Status);
        Assert.Contains("loops running", live.Body, StringComparison.Ordinal);
        Assert.True(await Eventually.TrueAsync(async () => (await GetAsync("/readyz")).Status == HttpStatusCode.OK, Wait), "should become ready");
        var ready = await GetAsync("/readyz");
        Assert.Contains("connected and consuming", ready.Body, StringComparison.Ordinal);
        Assert.Contains("runtime answering", ready.Body, StringComparison.Ordinal);
        Assert.Contains("taking jobs", ready.Body, StringComparison.Ordinal);

        await harness.PublishAsync([Job("m-1"), Job("m-2"), Job("m-3")]);
        Assert.Equal(3, (await harness.ResultsAsync(3)).Count);

        // The queue gauge appears after the first sample (every 5 s); the job counter after the first job.
        string? metrics = null;
        Assert.True(
            await Eventually.TrueAsync(
                async () =>
                {
                    metrics = (await GetAsync("/metrics")).Body;
                    return Sample(metrics, "worker_queue_messages") is not null && Sample(metrics, "worker_jobs_total", "outcome=\"succeeded\"") is not null;
                },
                Wait),
            $"metrics should carry the queue depth and the job counter:\n{metrics}");
        Assert.Equal(3, Sample(metrics!, "worker_jobs_total", "outcome=\"succeeded\""));
        Assert.Equal(1, Sample(metrics!, "worker_broker_connected"));
        Assert.Equal(0, Sample(metrics!, "worker_intake_paused"));
        Assert.Equal(0, Sample(metrics!, "worker_jobs_in_flight"));
        Assert.InRange(Sample(metrics!, "worker_queue_messages")!.Value, 0, 3);

        // Nothing held, no oldest-job age; a held job enqueued 90 s ago (AMQP timestamp) shows as ~90 s until settled.
        Assert.Null(Sample(metrics!, "worker_jobs_oldest_age_seconds"));
        var age = harness.Service<JobAgeTelemetry>();
        using (age.Hold(DateTimeOffset.UtcNow.AddSeconds(-90)))
        using (age.Hold(DateTimeOffset.UtcNow.AddSeconds(-10)))
        using (age.Hold(null))
        {
            double? oldest = null;
            Assert.True(
                await Eventually.TrueAsync(async () => (oldest = Sample((await GetAsync("/metrics")).Body, "worker_jobs_oldest_age_seconds")) is not null, Wait),
                "the oldest held job's age should be exported");
            Assert.InRange(oldest!.Value, 89, 90 + Wait.TotalSeconds);
        }

        Assert.True(
            await Eventually.TrueAsync(async () => Sample((await GetAsync("/metrics")).Body, "worker_jobs_oldest_age_seconds") is null, Wait),
            "no age once nothing is held");
    }

    [Fact]
    public async Task One_endpoint_down_leaves_the_worker_ready_says_which_and_shows_in_the_metrics()
    {
        // Nothing listens where the "claude" endpoint points: its one job opens its breaker.
        var port = FreeTcpPort.Pick();
        await using var harness = await WorkerHarness.StartAsync(broker, configure: s =>
        {
            s["Worker:HealthUrl"] = _url;
            s["Llm:Endpoints:claude:Provider"] = "anthropic";
            s["Llm:Endpoints:claude:BaseUrl"] = $"http://127.0.0.1:{port}/v1";
            s["Llm:Endpoints:claude:Models:0"] = "claude-sonnet-4-5";
            s["Resilience:MaxRetryAttempts"] = "1";
            s["Resilience:BreakerMinimumThroughput"] = "2";
            s["Resilience:BreakerBreakDuration"] = "00:01:00";
        });
        Assert.True(await Eventually.TrueAsync(async () => (await GetAsync("/readyz")).Status == HttpStatusCode.OK, Wait), "should become ready");

        await harness.PublishAsync(["""{"id":"to-claude","model":"claude-sonnet-4-5","prompt":"Down"}"""]);

        var ready = default((HttpStatusCode Status, string Body));
        Assert.True(
            await Eventually.TrueAsync(async () => (ready = await GetAsync("/readyz")).Body.Contains("endpoint(s) down: claude", StringComparison.Ordinal), Wait),
            $"readyz should name the down endpoint: {ready.Body}");
        Assert.Equal(HttpStatusCode.OK, ready.Status);
        string? metrics = null;
        Assert.True(
            await Eventually.TrueAsync(async () => Sample(metrics = (await GetAsync("/metrics")).Body, "worker_endpoint_down", "worker_endpoint=\"claude\"") == 1, Wait),
            $"metrics should show claude down:\n{metrics}");
        Assert.Equal(0, Sample(metrics!, "worker_endpoint_down", "worker_endpoint=\"default\""));
        Assert.Equal(0, Sample(metrics!, "worker_intake_paused"));

        // The default endpoint still answers.
        await harness.PublishAsync([Job("still-up")]);
        Assert.Equal("succeeded", Assert.Single(await harness.ResultsAsync(1)).Status);
    }

    [Fact]
    public async Task Readyz_says_paused_and_why_while_the_runtime_is_down_and_ready_again_after()
    {
        await using var harness = await WorkerHarness.StartAsync(
            broker, configure: s => { s["Runtime:Embedded"] = "false"; s["Worker:HealthUrl"] = _url; }, startWorker: false);
        var runtime = new RuntimeServer(new RuntimeServerOptions { SocketPath = harness.SocketPath });
        await runtime.StartAsync(CancellationToken.None);
        await harness.StartWorkerAsync();
        Assert.True(await Eventually.TrueAsync(async () => (await GetAsync("/readyz")).Status == HttpStatusCode.OK, Wait), "should become ready");

        await runtime.DisposeAsync();
        await harness.PublishAsync(Enumerable.Range(0, 4).Select(i => Job($"p-{i}")));
        (HttpStatusCode Status, string Body) paused = default;
        Assert.True(
            await Eventually.TrueAsync(async () => (paused = await GetAsync("/readyz")).Body.Contains("paused: ", StringComparison.Ordinal), Wait),
            $"readyz should say paused: {paused.Body}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, paused.Status);
        Assert.Contains("runtime not answering", paused.Body, StringComparison.Ordinal);

        // Paused is not dead: liveness stays green, so nothing restarts a worker that waits out an outage.
        Assert.Equal(HttpStatusCode.OK, (await GetAsync("/healthz")).Status);

        await using var restarted = new RuntimeServer(new RuntimeServerOptions { SocketPath = harness.SocketPath });
        await restarted.StartAsync(CancellationToken.None);
        Assert.Equal(4, (await harness.ResultsAsync(4, TimeSpan.FromSeconds(60))).Count);
        Assert.True(await Eventually.TrueAsync(async () => (await GetAsync("/readyz")).Status == HttpStatusCode.OK, Wait), "ready again after the outage");
    }

    [Fact]
    public async Task Readyz_is_not_ready_while_the_broker_is_down_and_ready_after_it_returns()
    {
        Assert.True(broker.IsContainer, "this test stops the broker: it needs the container broker, not RABBITMQ_URI");
        await using var harness = await WorkerHarness.StartAsync(broker, configure: s => s["Worker:HealthUrl"] = _url);
        Assert.True(await Eventually.TrueAsync(async () => (await GetAsync("/readyz")).Status == HttpStatusCode.OK, Wait), "should become ready");

        await broker.StopBrokerAsync();
        try
        {
            (HttpStatusCode Status, string Body) down = default;
            Assert.True(
                await Eventually.TrueAsync(async () => (down = await GetAsync("/readyz")).Status == HttpStatusCode.ServiceUnavailable, Wait),
                $"not ready without a broker: {down.Body}");
            Assert.Contains("broker not connected", down.Body, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, (await GetAsync("/healthz")).Status);
            var metrics = (await GetAsync("/metrics")).Body;
            Assert.Equal(0, Sample(metrics, "worker_broker_connected"));
            Assert.True(Sample(metrics, "worker_broker_connection_events_total", "event=\"lost\"") >= 1, metrics);
        }
        finally
        {
            await broker.StartBrokerAsync();
        }

        Assert.True(await Eventually.TrueAsync(async () => (await GetAsync("/readyz")).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(60)), "ready after recovery");
        // The test's own client connection recovers on its own schedule (5 s interval): publish once it has.
        Assert.True(
            await Eventually.TrueAsync(
                async () =>
                {
                    try
                    {
                        await harness.PublishAsync([Job("after-broker")]);
                        return true;
                    }
                    catch (RabbitMQ.Client.Exceptions.AlreadyClosedException)
                    {
                        return false;
                    }
                },
                Wait),
            "the test client should reconnect");
        Assert.Single(await harness.ResultsAsync(1, TimeSpan.FromSeconds(60)));
    }

    private async Task<(HttpStatusCode Status, string Body)> GetAsync(string path)
    {
        try
        {
            using var response = await _http.GetAsync(new Uri(_url + path));
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        catch (HttpRequestException ex)
        {
            return (0, ex.Message);
        }
    }

    /// <summary>The value of one Prometheus sample whose labels contain <paramref name="label"/> (any when null).</summary>
    private static double? Sample(string metrics, string name, string? label = null)
    {
        foreach (Match match in SampleLine().Matches(metrics))
        {
            if (match.Groups["name"].Value == name && (label is null || match.Groups["labels"].Value.Contains(label, StringComparison.Ordinal)))
            {
                return double.Parse(match.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>[-+0-9.eE]+|NaN)", RegexOptions.Multiline)]
    private static partial Regex SampleLine();

    public void Dispose() => _http.Dispose();
}
