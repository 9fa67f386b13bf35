using System.Text;
using Worker.Host.Contracts;

namespace Worker.Host.Tests.Contracts;

public sealed class JobParserTests
{
    private readonly JobParser _parser = new(maxBytes: 4096, defaultTenant: "default", defaultStream: true);

    private JobParseResult Parse(string json) => _parser.Parse(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Our_form_with_every_field()
    {
        var result = Parse("""
            {"id":"job-42","tenant":"acme","model":"gpt-4o-mini","messages":[{"role":"user","content":"What is the capital of France?"}],
             "stream":false,"params":{"temperature":0.2,"max_tokens":256,"top_p":0.9},"metadata":{"any":"json"}}
            """);
        Assert.Null(result.Rejection);
        var job = result.Job!;
        Assert.Equal(("job-42", "acme", "gpt-4o-mini", false), (job.Id, job.Tenant, job.Request.Model, job.Request.Stream));
        Assert.Equal("What is the capital of France?", Assert.Single(job.Request.Messages).Content);
        Assert.Equal(0.2, job.Request.Temperature);
        Assert.Equal(256, job.Request.MaxTokens);
        Assert.Equal(0.9, job.Request.ExtraParameters!["top_p"].GetDouble());
        Assert.Equal("json", job.Metadata!.Value.GetProperty("any").GetString());
        Assert.Equal(JobForm.Native, job.Form);
    }

    [Fact]
    public void Prompt_is_shorthand_for_one_user_message_and_defaults_apply()
    {
        var job = Parse("""{"id":"a","prompt":"Hi"}""").Job!;
        Assert.Equal("default", job.Tenant);
        Assert.Null(job.Request.Model);
        Assert.True(job.Request.Stream);
        var message = Assert.Single(job.Request.Messages);
        Assert.Equal(("user", "Hi"), (message.Role, message.Content));
    }

    [Fact]
    public void Batch_api_line()
    {
        var result = Parse("""
            {"custom_id":"request-1","method":"POST","url":"/v1/chat/completions",
             "body":{"model":"gpt-3.5-turbo-0125","messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":"Hello world!"}],"max_tokens":1000,"seed":7}}
            """);
        Assert.Null(result.Rejection);
        var job = result.Job!;
        Assert.Equal(("request-1", "request-1", JobForm.Batch), (job.Id, job.CustomId, job.Form));
        Assert.Equal("gpt-3.5-turbo-0125", job.Request.Model);
        Assert.Equal(2, job.Request.Messages.Count);
        Assert.Equal(1000, job.Request.MaxTokens);
        Assert.Equal(7, job.Request.ExtraParameters!["seed"].GetInt32());
        Assert.False(job.Request.ExtraParameters!.ContainsKey("messages"));
    }

    [Theory]
    [InlineData("not json at all", "invalid_json")]
    [InlineData("[1,2,3]", "not_an_object")]
    [InlineData("\"text\"", "not_an_object")]
    [InlineData("""{"prompt":"no id"}""", "missing_id")]
    [InlineData("""{"id":{"x":1},"prompt":"p"}""", "invalid_field")]
    [InlineData("""{"id":"","prompt":"p"}""", "invalid_field")]
    [InlineData("""{"id":"a","prompt":5}""", "invalid_field")]
    [InlineData("""{"id":"a","messages":"hello"}""", "invalid_field")]
    [InlineData("""{"id":"a","messages":[{"content":"no role"}]}""", "invalid_field")]
    [InlineData("""{"id":"a","prompt":"p","stream":"yes"}""", "invalid_field")]
    [InlineData("""{"id":"a","prompt":"p","params":[1]}""", "invalid_field")]
    [InlineData("""{"id":"a","prompt":"p","params":{"temperature":"hot"}}""", "invalid_field")]
    [InlineData("""{"id":"a","prompt":"p","version":2}""", "unsupported_version")]
    [InlineData("""{"id":"a","prompt":"p","deadline":"tomorrow"}""", "invalid_field")]
    public void Structural_problems_are_poison_with_a_reason(string body, string reasonCode)
    {
        var result = Parse(body);
        Assert.Equal(JobOutcome.DeadLettered, result.Rejection);
        Assert.StartsWith(reasonCode, result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Poison_with_a_readable_id_keeps_the_id()
    {
        var result = Parse("""{"id":"job-7","tenant":"acme","prompt":42}""");
        Assert.Equal(JobOutcome.DeadLettered, result.Rejection);
        Assert.Equal("job-7", result.Id);
        Assert.Equal("acme", result.Tenant);
    }

    [Theory]
    [InlineData("""{"id":"a"}""", "missing_messages")]
    [InlineData("""{"id":"a","messages":[]}""", "missing_messages")]
    [InlineData("""{"id":"a","messages":[{"role":"wizard","content":"x"}]}""", "invalid_parameter")]
    [InlineData("""{"id":"a","prompt":"p","params":{"temperature":3}}""", "invalid_parameter")]
    [InlineData("""{"id":"a","prompt":"p","params":{"max_tokens":0}}""", "invalid_parameter")]
    [InlineData("""{"custom_id":"b","method":"GET","url":"/v1/chat/completions","body":{}}""", "unsupported_method")]
    [InlineData("""{"custom_id":"b","method":"POST","url":"/v1/embeddings","body":{}}""", "unsupported_url")]
    [InlineData("""{"id":"a","prompt":"p","deadline":"2026-12-02T00:00:00Z","ttl_seconds":5}""", "invalid_parameter")]
    [InlineData("""{"id":"a","prompt":"p","ttl_seconds":0}""", "invalid_parameter")]
    [InlineData("""{"id":"a","prompt":"p","ttl_seconds":99999999}""", "invalid_parameter")]
    public void Readable_jobs_with_bad_parameters_are_invalid_not_poison(string body, string reasonCode)
    {
        var result = Parse(body);
        Assert.Equal(JobOutcome.Failed, result.Rejection);
        Assert.NotNull(result.Id);
        Assert.StartsWith(reasonCode, result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Oversized_body_is_poison_before_parsing()
    {
        var body = Encoding.UTF8.GetBytes($$"""{"id":"big","prompt":"{{new string('x', 5000)}}"}""");
        var result = _parser.Parse(body);
        Assert.Equal(JobOutcome.DeadLettered, result.Rejection);
        Assert.StartsWith("too_large", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Deep_nesting_and_invalid_utf8_are_poison()
    {
        var deep = "{\"id\":\"d\",\"metadata\":" + new string('[', 200) + new string(']', 200) + ",\"prompt\":\"p\"}";
        Assert.Equal(JobOutcome.DeadLettered, Parse(deep).Rejection);
        byte[] invalidUtf8 = [.. "{\"id\":\"u\",\"prompt\":\""u8, 0xC3, 0x28, .. "\"}"u8];
        Assert.Equal(JobOutcome.DeadLettered, _parser.Parse(invalidUtf8).Rejection);
    }

    [Fact]
    public void Unknown_fields_are_ignored()
    {
        Assert.Null(Parse("""{"id":"a","prompt":"p","colour":"blue","nested":{"x":[1,2]}}""").Rejection);
    }

    [Fact]
    public void Random_bytes_never_throw()
    {
        var random = new Random(42);
        for (var i = 0; i < 2000; i++)
        {
            var bytes = new byte[random.Next(0, 200)];
            random.NextBytes(bytes);
            var result = _parser.Parse(bytes);
            Assert.NotNull(result.Rejection);
        }
    }
}
