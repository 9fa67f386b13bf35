using Microsoft.Extensions.Options;
using Worker.Runtime.Hosting;
using Worker.Testing;

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

    [Fact]
    public void A_port_in_use_fails_naming_the_key_and_a_free_one_passes()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;

        var error = Assert.Throws<OptionsValidationException>(
            () => HealthEndpointPortCheck.EnsureAvailable(HealthEndpointAddress.Parse("Worker:HealthUrl", $"http://127.0.0.1:{port}")!));
        Assert.StartsWith($"Worker:HealthUrl: cannot listen on http://127.0.0.1:{port}: ", Assert.Single(error.Failures), StringComparison.Ordinal);

        var free = HealthEndpointAddress.Parse("Worker:HealthUrl", $"http://127.0.0.1:{FreeTcpPort.Pick()}")!;
        HealthEndpointPortCheck.EnsureAvailable(free);
        HealthEndpointPortCheck.EnsureAvailable(free); // the probe released the port again
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
