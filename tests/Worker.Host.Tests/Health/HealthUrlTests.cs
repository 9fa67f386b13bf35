using Microsoft.Extensions.Options;
using Worker.Runtime.Hosting;

namespace Worker.Host.Tests.Health;

/// <summary><c>Worker:HealthUrl</c> / <c>Runtime:HealthUrl</c>: what is accepted, what it listens on, and the error naming the key.</summary>
public sealed class HealthUrlTests
{
    [Theory]
    [InlineData("http://0.0.0.0:8080", "http://+:8080/")]
    [InlineData("http://[::]:9000", "http://+:9000/")]
    [InlineData("http://127.0.0.1:8080/", "http://127.0.0.1:8080/")]
    [InlineData("http://localhost:80", "http://localhost:80/")]
    public void Accepted_urls_become_listener_prefixes(string url, string prefix)
    {
        Assert.Equal(prefix, HealthEndpointAddress.Parse("Worker:HealthUrl", url)!.Prefix);
    }

    [Fact]
    public void Empty_means_no_endpoint()
    {
        Assert.Null(HealthEndpointAddress.Parse("Worker:HealthUrl", null));
        Assert.Null(HealthEndpointAddress.Parse("Worker:HealthUrl", " "));
    }

    [Theory]
    [InlineData("https://0.0.0.0:8443")]
    [InlineData("http://0.0.0.0")]
    [InlineData("http://0.0.0.0:8080/health")]
    [InlineData("0.0.0.0:8080")]
    public void Bad_urls_fail_naming_the_key(string url)
    {
        var error = Assert.Throws<OptionsValidationException>(() => HealthEndpointAddress.Parse("Worker:HealthUrl", url));
        Assert.StartsWith("Worker:HealthUrl: ", Assert.Single(error.Failures), StringComparison.Ordinal);
    }
}
