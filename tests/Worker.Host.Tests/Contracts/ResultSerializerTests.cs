using System.Text.Json;
using Worker.Host.Contracts;

namespace Worker.Host.Tests.Contracts;

public sealed class ResultSerializerTests
{
    [Fact]
    public void Result_json_has_the_contract_fields()
    {
        using var metadata = JsonDocument.Parse("""{"k":"v"}""");
        var result = new JobResult
        {
            Id = "job-42",
            Status = JobStatus.Succeeded,
            Tenant = "acme",
            Model = "gpt-4o-mini",
            Content = "Paris.",
            FinishReason = "stop",
            Usage = new TokenUsage(9, 7, 16),
            Attempts = 1,
            DurationMs = 123,
            CompletedAt = DateTimeOffset.UnixEpoch,
            Metadata = metadata.RootElement.Clone(),
        };
        using var json = JsonDocument.Parse(ResultSerializer.Serialize(result, batchOutputForm: false));
        var root = json.RootElement;
        foreach (var field in new[] { "id", "status", "tenant", "model", "content", "finish_reason", "usage", "attempts", "redelivered", "duration_ms", "completed_at", "metadata", "error" })
        {
            Assert.True(root.TryGetProperty(field, out _), $"missing {field}");
        }

        Assert.Equal(16, root.GetProperty("usage").GetProperty("total_tokens").GetInt32());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("error").ValueKind);
        Assert.Equal("v", root.GetProperty("metadata").GetProperty("k").GetString());
        Assert.Equal("completion.succeeded", result.RoutingKey);
    }

    [Fact]
    public void Failed_result_and_batch_output_form()
    {
        var failed = new JobResult
        {
            Id = "r1",
            CustomId = "r1",
            Form = JobForm.Batch,
            Status = JobStatus.Failed,
            Tenant = "t",
            Error = new JobError("RateLimited", "HTTP 429", 429, true),
        };
        using var native = JsonDocument.Parse(ResultSerializer.Serialize(failed, batchOutputForm: false));
        var error = native.RootElement.GetProperty("error");
        Assert.Equal(("RateLimited", 429, true), (error.GetProperty("class").GetString(), error.GetProperty("status_code").GetInt32(), error.GetProperty("retryable").GetBoolean()));
        Assert.Equal("completion.failed", failed.RoutingKey);

        using var batch = JsonDocument.Parse(ResultSerializer.Serialize(failed, batchOutputForm: true));
        Assert.Equal("r1", batch.RootElement.GetProperty("custom_id").GetString());
        Assert.StartsWith("batch_req_", batch.RootElement.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal(429, batch.RootElement.GetProperty("response").GetProperty("status_code").GetInt32());
        Assert.Equal("RateLimited", batch.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public void Batch_output_keeps_the_upstream_json_body_and_request_id_and_dates_are_not_escaped()
    {
        var upstream = """{"id":"chatcmpl-9","object":"chat.completion","created":1,"model":"gpt-4o-mini","service_tier":"default","system_fingerprint":"fp_1","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"logprobs":{"content":[]},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4,"prompt_tokens_details":{"cached_tokens":0}}}"""u8.ToArray();
        var result = new JobResult
        {
            Id = "r2",
            CustomId = "r2",
            Form = JobForm.Batch,
            Status = JobStatus.Succeeded,
            Tenant = "t",
            CompletedAt = DateTimeOffset.Parse("2026-12-02T01:02:03+00:00", System.Globalization.CultureInfo.InvariantCulture),
            Completion = new Worker.Connector.OpenAi.ChatCompletion { Id = "chatcmpl-9", RequestId = "req_abc", JsonBody = upstream },
        };
        using var batch = JsonDocument.Parse(ResultSerializer.Serialize(result, batchOutputForm: true));
        var response = batch.RootElement.GetProperty("response");
        Assert.Equal("req_abc", response.GetProperty("request_id").GetString());
        var body = response.GetProperty("body");
        Assert.Equal("default", body.GetProperty("service_tier").GetString());
        Assert.Equal(JsonValueKind.Object, body.GetProperty("choices")[0].GetProperty("logprobs").ValueKind);
        Assert.Equal(0, body.GetProperty("usage").GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32());

        var native = System.Text.Encoding.UTF8.GetString(ResultSerializer.Serialize(result, batchOutputForm: false));
        Assert.Contains("\"completed_at\":\"2026-12-02T01:02:03+00:00\"", native, StringComparison.Ordinal);
    }
}
