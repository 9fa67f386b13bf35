using System.Text;
using Worker.Host.Contracts;

namespace Worker.Host.Tests.Contracts;

public sealed class JobEndpointFieldTests
{
    private readonly JobParser _parser = new(maxBytes: 4096, defaultTenant: "default", defaultStream: true);

    private JobParseResult Parse(string json) => _parser.Parse(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void The_endpoint_field_is_read()
    {
        Assert.Equal("claude", Parse("""{"id":"a","prompt":"Hi","endpoint":"claude"}""").Job!.Endpoint);
        Assert.Null(Parse("""{"id":"a","prompt":"Hi"}""").Job!.Endpoint);
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"has space\"")]
    [InlineData("\"a/b\"")]
    [InlineData("\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"")]
    public void A_bad_endpoint_name_is_an_invalid_request(string endpoint)
    {
        var result = Parse($$"""{"id":"a","prompt":"Hi","endpoint":{{endpoint}}}""");
        Assert.Null(result.Job);
        Assert.Equal(JobOutcome.Failed, result.Rejection);
        Assert.Contains("endpoint", result.Reason, StringComparison.Ordinal);
    }
}
