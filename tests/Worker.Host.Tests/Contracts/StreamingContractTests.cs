using System.Text;
using System.Text.Json;
using Worker.Host.Cli;
using Worker.Host.Contracts;

namespace Worker.Host.Tests.Contracts;

public sealed class StreamingContractTests
{
    [Fact]
    public void A_delta_round_trips_with_the_contract_fields()
    {
        var delta = new JobDelta { Id = "job-1", Tenant = "acme", Attempt = 2, Seq = 3, Content = "naïve \"text\"" };
        var body = ResultSerializer.Serialize(delta);
        using var json = JsonDocument.Parse(body);
        foreach (var field in new[] { "version", "id", "tenant", "attempt", "seq", "content" })
        {
            Assert.True(json.RootElement.TryGetProperty(field, out _), $"missing {field}");
        }

        Assert.True(ResultSerializer.TryReadDelta(body, out var read));
        Assert.Equal(delta, read);
        Assert.False(ResultSerializer.TryReadDelta("not json"u8, out _));
        Assert.Equal("[job-1 #3 attempt 2] naïve \"text\"", ResultLine.Format(JobDelta.RoutingKey, body));
        Assert.Equal("[job-1 #3] naïve \"text\"", ResultLine.Format(JobDelta.RoutingKey, ResultSerializer.Serialize(delta with { Attempt = 1 })));
        Assert.Equal("""{"x":1}""", ResultLine.Format("completion.succeeded", """{"x":1}"""u8));
    }

    [Fact]
    public void A_cancel_request_round_trips()
    {
        var body = ControlSerializer.Serialize(new CancelRequest { Id = "job-7" });
        Assert.Equal("""{"id":"job-7"}""", Encoding.UTF8.GetString(body));
        Assert.True(ControlSerializer.TryReadCancel(body, out var request, out var reason));
        Assert.Equal("job-7", request!.Id);
        Assert.Null(reason);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("""{"id":null}""")]
    [InlineData("""{"id":42}""")]
    [InlineData("""{"id":""}""")]
    [InlineData("""{"id":"a\u0007b"}""")]
    [InlineData("""{"id":"job","id":{"nested":true}}""")]
    public void Malformed_cancel_requests_are_refused_with_a_reason(string body)
    {
        Assert.False(ControlSerializer.TryReadCancel(Encoding.UTF8.GetBytes(body), out var request, out var reason));
        Assert.Null(request);
        Assert.False(string.IsNullOrEmpty(reason));
    }

    [Fact]
    public void Oversized_cancel_requests_and_ids_are_refused()
    {
        Assert.False(ControlSerializer.TryReadCancel(new byte[ControlSerializer.MaxBytes + 1], out _, out var tooLarge));
        Assert.StartsWith("too_large", tooLarge, StringComparison.Ordinal);
        var longId = ControlSerializer.Serialize(new CancelRequest { Id = new string('x', JobContract.MaxIdBytes + 1) });
        Assert.False(ControlSerializer.TryReadCancel(longId, out _, out var invalid));
        Assert.StartsWith("invalid_id", invalid, StringComparison.Ordinal);
    }

    [Fact]
    public void Cancelled_results_have_their_own_status_and_routing_key()
    {
        var result = new JobResult { Id = "j", Status = JobStatus.Cancelled, Tenant = "t", Content = "part" };
        Assert.Equal("completion.cancelled", result.RoutingKey);
        Assert.Equal(JobOutcome.Cancelled, result.Outcome);
        Assert.False(result.IsSuccess);
    }

    [Theory]
    [InlineData(",\"deltas\":true", true)]
    [InlineData(",\"deltas\":false", false)]
    [InlineData("", null)]
    public void The_parser_reads_the_deltas_opt_in(string field, bool? expected)
    {
        var parser = new JobParser(1024 * 1024, "default", defaultStream: true);
        var parsed = parser.Parse(Encoding.UTF8.GetBytes($$"""{"id":"j","prompt":"hi"{{field}}}"""));
        Assert.Equal(expected, parsed.Job!.Deltas);
    }
}
