using System.Diagnostics;
using System.Text;
using Worker.Host.Contracts;
using Worker.Simulator.Generation;
using Worker.Simulator.Options;
using Worker.Testing;

namespace Worker.Host.Tests.Integration;

/// <summary>Jobs through a real broker, our runtime and the simulator, asserting exact outcomes.</summary>
[Collection(RabbitMqBrokerCollection.Name)]
public sealed class WorkerPipelineTests(RabbitMqBrokerFixture broker)
{
    private static string Job(string id, string prompt, string extra = "") => $$"""{"id":"{{id}}","prompt":"{{prompt}}"{{extra}}}""";

    [Fact]
    public async Task N_jobs_give_N_succeeded_results_with_the_simulators_exact_content()
    {
        await using var harness = await WorkerHarness.StartAsync(broker);
        var prompts = Enumerable.Range(0, 12).Select(i => $"Question number {i}?").ToArray();
        await harness.PublishAsync(prompts.Select((p, i) => Job($"job-{i}", p, i % 2 == 0 ? "" : ",\"stream\":false")));

        var results = await harness.ResultsAsync(prompts.Length);

        Assert.Equal(prompts.Length, results.Select(r => r.Id).Distinct().Count());
        foreach (var result in results)
        {
            var index = int.Parse(result.Id["job-".Length..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(JobStatus.Succeeded, result.Status);
            Assert.Equal("completion.succeeded", result.RoutingKey);
            Assert.Equal(result.Id, result.CorrelationId);
            Assert.Equal(AnswerGenerator.Generate("gpt-4o-mini", prompts[index]), result.Content);
            Assert.Equal("stop", result.Json.GetProperty("finish_reason").GetString());
            Assert.True(result.Json.GetProperty("usage").GetProperty("completion_tokens").GetInt32() > 0);
            Assert.Equal(1, result.Attempts);
            Assert.False(result.Json.GetProperty("redelivered").GetBoolean());
        }
    }

    [Fact]
    public async Task Concurrency_one_keeps_queue_order()
    {
        await using var harness = await WorkerHarness.StartAsync(broker, configure: s => s["Worker:Concurrency"] = "1");
        var ids = Enumerable.Range(0, 15).Select(i => $"ordered-{i:D2}").ToArray();
        await harness.PublishAsync(ids.Select(id => Job(id, $"Say {id}")));
        var results = await harness.ResultsAsync(ids.Length);
        Assert.Equal(ids, results.Select(r => r.Id));
    }

    [Fact]
    public async Task Bounded_concurrency_never_exceeds_C_and_beats_sequential()
    {
        const int jobs = 24;
        var latency = TimeSpan.FromMilliseconds(150);
        await using var harness = await WorkerHarness.StartAsync(
            broker,
            new SimulatorOptions { Latency = { TimeToFirstTokenMs = (int)latency.TotalMilliseconds } },
            s => s["Worker:Concurrency"] = "4");
        harness.Simulator.Stats.Reset();
        var watch = Stopwatch.StartNew();
        await harness.PublishAsync(Enumerable.Range(0, jobs).Select(i => Job($"c-{i}", $"Parallel {i}")));
        var results = await harness.ResultsAsync(jobs);
        watch.Stop();

        Assert.All(results, r => Assert.Equal(JobStatus.Succeeded, r.Status));
        var peak = harness.Simulator.Stats.PeakConcurrentRequests;
        Assert.InRange(peak, 2, 4);
        // Sequential processing cannot take less than jobs × latency; finishing sooner proves the overlap.
        Assert.True(watch.Elapsed < latency * jobs, $"took {watch.Elapsed} for {jobs} jobs of {latency}: no faster than sequential");
    }

    [Fact]
    public async Task Batch_form_file_round_trip_in_batch_output_form()
    {
        await using var harness = await WorkerHarness.StartAsync(broker, configure: s => s["Worker:BatchResultFormat"] = "Batch");
        var lines = Enumerable.Range(0, 5).Select(i =>
            $$$"""{"custom_id":"request-{{{i}}}","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o","messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":"Batch question {{{i}}}"}],"max_tokens":1000}}""").ToArray();
        await harness.PublishAsync(lines);
        var results = await harness.ResultsAsync(lines.Length);
        foreach (var result in results.OrderBy(r => r.CustomId, StringComparer.Ordinal))
        {
            var i = result.CustomId![^1] - '0';
            Assert.StartsWith("batch_req_", result.Id, StringComparison.Ordinal);
            var response = result.Json.GetProperty("response");
            Assert.Equal(200, response.GetProperty("status_code").GetInt32());
            var body = response.GetProperty("body");
            Assert.Equal("chat.completion", body.GetProperty("object").GetString());
            Assert.Equal(AnswerGenerator.Generate("gpt-4o", $"Batch question {i}"), body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
            Assert.Equal(System.Text.Json.JsonValueKind.Null, result.Json.GetProperty("error").ValueKind);
        }
    }

    [Fact]
    public async Task Transient_faults_are_retried_to_success()
    {
        await using var harness = await WorkerHarness.StartAsync(
            broker,
            new SimulatorOptions { Faults = { Rate = 0.4, Seed = 7, Modes = ["rate_limit", "server_error", "drop"], RetryAfterSeconds = 1 } },
            s => s["Resilience:MaxRetryAttempts"] = "10");
        const int jobs = 20;
        await harness.PublishAsync(Enumerable.Range(0, jobs).Select(i => Job($"t-{i}", $"Flaky {i}")));
        var results = await harness.ResultsAsync(jobs, TimeSpan.FromSeconds(90));

        Assert.All(results, r => Assert.Equal(JobStatus.Succeeded, r.Status));
        Assert.All(results, r => Assert.Equal(AnswerGenerator.Generate("gpt-4o-mini", $"Flaky {r.Id[2..]}"), r.Content));
        Assert.True(results.Sum(r => r.Attempts) > jobs, "some jobs should have needed more than one attempt");
        var stats = harness.Simulator.Stats;
        Assert.True(stats.TotalRequests > jobs);
    }

    [Fact]
    public async Task Permanent_error_gives_a_failed_result_without_the_key()
    {
        const string wrongKey = "sk-wrong-key-0123456789";
        await using var harness = await WorkerHarness.StartAsync(
            broker,
            new SimulatorOptions { ApiKey = "sk-right-key" },
            s => s["Llm:ApiKey"] = wrongKey);
        await harness.PublishAsync([Job("denied", "Hello?")]);
        var result = Assert.Single(await harness.ResultsAsync(1));
        Assert.Equal(JobStatus.Failed, result.Status);
        Assert.Equal("completion.failed", result.RoutingKey);
        var error = result.Json.GetProperty("error");
        Assert.Equal("Permanent", error.GetProperty("class").GetString());
        Assert.Equal(401, error.GetProperty("status_code").GetInt32());
        Assert.False(error.GetProperty("retryable").GetBoolean());
        Assert.Contains("API key", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, result.Attempts);
        Assert.DoesNotContain(wrongKey, result.Json.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Poison_messages_are_dead_lettered_with_a_reason_and_the_worker_keeps_going()
    {
        await using var harness = await WorkerHarness.StartAsync(broker);
        await harness.PublishRawAsync(Encoding.UTF8.GetBytes("this is not json"));
        await harness.PublishAsync(["""{"prompt":"no id here"}""", """{"id":"typed-wrong","prompt":["not","a","string"]}"""]);
        await harness.PublishRawAsync([0xFF, 0xFE, 0x00, 0x01]);
        await harness.PublishAsync([Job("after-poison", "Still working?"), """{"id":"no-messages"}"""]);

        var dead = await harness.DeadLettersAsync(4);
        Assert.Equal(4, dead.Count);
        var reasons = dead.Select(d => Encoding.UTF8.GetString((byte[])d.BasicProperties.Headers!["x-reject-reason"]!)).ToArray();
        Assert.Contains(reasons, r => r.StartsWith("invalid_json", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.StartsWith("missing_id", StringComparison.Ordinal));
        Assert.Contains(reasons, r => r.StartsWith("invalid_field", StringComparison.Ordinal));
        Assert.Contains(dead, d => Encoding.UTF8.GetString(d.Body.Span) == "this is not json");

        // The poison job with a readable id and the invalid job are answered as failed; the good one succeeds.
        var results = (await harness.ResultsAsync(3)).ToDictionary(r => r.Id);
        Assert.Equal(JobStatus.Succeeded, results["after-poison"].Status);
        Assert.Equal(JobStatus.Failed, results["typed-wrong"].Status);
        Assert.Equal("Poison", results["typed-wrong"].Json.GetProperty("error").GetProperty("class").GetString());
        Assert.Equal(JobStatus.Failed, results["no-messages"].Status);
        Assert.Equal("InvalidRequest", results["no-messages"].Json.GetProperty("error").GetProperty("class").GetString());
        Assert.Equal(0u, await harness.QueueDepthAsync(harness.JobsQueue));
    }

    [Fact]
    public async Task Stop_mid_batch_then_restart_answers_every_job_exactly_once()
    {
        const int jobs = 30;
        await using var harness = await WorkerHarness.StartAsync(
            broker,
            new SimulatorOptions { Latency = { TimeToFirstTokenMs = 200 } },
            s =>
            {
                s["Worker:Concurrency"] = "4";
                s["Worker:DrainTimeout"] = "00:00:00.100";
            });
        await harness.PublishAsync(Enumerable.Range(0, jobs).Select(i => Job($"s-{i}", $"Stop test {i}")));
        var first = await harness.ResultsAsync(5);
        await harness.StopWorkerAsync();
        first.AddRange(await harness.ResultsWithinAsync(TimeSpan.FromMilliseconds(500)));

        await harness.StartWorkerAsync();
        var rest = await harness.ResultsAsync(jobs - first.Count, TimeSpan.FromSeconds(60));
        var all = first.Concat(rest).ToList();
        all.AddRange(await harness.ResultsWithinAsync(TimeSpan.FromSeconds(1)));

        Assert.Equal(jobs, all.Count);
        Assert.Equal(jobs, all.Select(r => r.Id).Distinct().Count());
        Assert.All(all, r => Assert.Equal(JobStatus.Succeeded, r.Status));
        Assert.Equal(0u, await harness.QueueDepthAsync(harness.JobsQueue));
    }

    [Fact]
    public async Task Embedded_runtime_only_calls_the_llm_endpoint_unless_configured_otherwise()
    {
        await using var harness = await WorkerHarness.StartAsync(broker);
        var runtime = harness.Service<Worker.Connector.Client.RuntimeClient>();
        var ex = await Assert.ThrowsAsync<Worker.Connector.ConnectorException>(() =>
            Worker.Connector.Http.RuntimeHttpExtensions.SendHttpAsync(runtime, Worker.Connector.Http.HttpRequest.Get("http://127.0.0.2:9/elsewhere")));
        Assert.Equal(Worker.Connector.ErrorClass.InvalidRequest, ex.ErrorClass);
        var models = await Worker.Connector.Http.RuntimeHttpExtensions.SendHttpAsync(runtime, Worker.Connector.Http.HttpRequest.Get(new Uri(harness.Simulator.BaseAddress, "v1/models").ToString()));
        Assert.Equal(200, models.StatusCode);
    }
}
