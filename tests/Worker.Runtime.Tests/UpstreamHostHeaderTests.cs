using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using Worker.Connector;
using Worker.Connector.Http;
using Worker.Runtime.Tests.Support;

namespace Worker.Runtime.Tests;

/// <summary>
/// The runtime connects to the URL's host, so the upstream must also be told that host: a caller-supplied Host header
/// (or any connection-level header) must not reach it, and TLS SNI must name the URL's host.
/// </summary>
public sealed class UpstreamHostHeaderTests : IClassFixture<UpstreamFixture>
{
    private static readonly Dictionary<string, string> HostileHeaders = new(StringComparer.Ordinal)
    {
        ["Host"] = "evil.example",
        ["Connection"] = "close, X-Dropped",
        ["Keep-Alive"] = "timeout=5",
        ["Proxy-Authorization"] = "Basic eDp5",
        ["Proxy-Connection"] = "keep-alive",
        ["Upgrade"] = "h2c",
        ["TE"] = "trailers",
        ["Trailer"] = "X-Checksum",
        ["Transfer-Encoding"] = "chunked",
        ["Content-Length"] = "5",
        ["X-Kept"] = "yes",
    };

    private readonly TestUpstream _upstream;

    public UpstreamHostHeaderTests(UpstreamFixture fixture)
    {
        _upstream = fixture.Upstream;
    }

    [Fact]
    public async Task A_caller_Host_header_and_connection_level_headers_never_reach_the_upstream()
    {
        await using var server = await TestRuntime.StartAsync();
        await using var client = TestRuntime.Client(server);

        var response = await client.ExecuteAsync(HttpPayloadSerializer.ConnectorName, HttpPayloadSerializer.OperationName,
            TestRuntime.HttpPayload("GET", _upstream.Url("/headers"), new(HostileHeaders)));

        var seen = JsonSerializer.Deserialize<Dictionary<string, string>>(HttpPayloadSerializer.DeserializeResponse(response.Payload.Span).Body!)!;
        Assert.Equal(_upstream.Authority, seen["host"]);
        Assert.Equal("yes", seen["x-kept"]);
        foreach (var name in new[] { "keep-alive", "proxy-authorization", "proxy-connection", "upgrade", "te", "trailer", "transfer-encoding", "content-length" })
        {
            Assert.False(seen.ContainsKey(name), $"the upstream saw {name}: {seen.GetValueOrDefault(name)}");
        }

        Assert.False(seen.TryGetValue("connection", out var connection) && connection.Contains("X-Dropped", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task Over_https_the_SNI_and_the_Host_the_upstream_sees_are_the_URLs_host()
    {
        using var certificate = SelfSigned("localhost");
        string? sni = null;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            ServerCertificateSelector = (_, name) =>
            {
                sni = name;
                return certificate;
            },
        })));
        await using var https = builder.Build();
        https.MapGet("/", (HttpContext context) => context.Request.Host.Value);
        await https.StartAsync();
        var port = new Uri(https.Urls.First()).Port;

        await using var server = await TestRuntime.StartAsync();
        await using var client = TestRuntime.Client(server);

        // The certificate is not trusted by the runtime, so the call fails; the ClientHello was sent all the same.
        var failure = await Assert.ThrowsAsync<ConnectorException>(() => client.ExecuteAsync(HttpPayloadSerializer.ConnectorName,
            HttpPayloadSerializer.OperationName, TestRuntime.HttpPayload("GET", $"https://localhost:{port}/", new() { ["Host"] = "evil.example" })));

        Assert.Equal("localhost", sni);
        Assert.DoesNotContain("evil.example", failure.Message, StringComparison.Ordinal);
        await https.StopAsync();
    }

    private static X509Certificate2 SelfSigned(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));

        // Kestrel needs the key in a form SslStream can use on Linux: round-trip through PKCS#12.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }
}
