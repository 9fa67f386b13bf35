using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Worker.Connector.Client;
using Worker.Connector.Http;
using Worker.Runtime.Configuration;
using Worker.Runtime.Server;
using Worker.Runtime.Tests.Support;

namespace Worker.Runtime.Tests;

/// <summary>Options: validation naming the key, environment fallbacks, and embedding in a Generic Host.</summary>
public sealed class ConfigurationTests : IClassFixture<UpstreamFixture>
{
    private readonly TestUpstream _upstream;

    public ConfigurationTests(UpstreamFixture fixture)
    {
        _upstream = fixture.Upstream;
    }

    [Theory]
    [InlineData("MaxInFlight", "0", "Runtime:MaxInFlight must be between 1 and 1000000")]
    [InlineData("MaxInFlightPerConnection", "-1", "Runtime:MaxInFlightPerConnection must be between 0")]
    [InlineData("MaxConnections", "0", "Runtime:MaxConnections must be between 1 and 1000000")]
    [InlineData("MaxUnsentBytesPerConnection", "1048576", "Runtime:MaxUnsentBytesPerConnection must be at least one whole frame")]
    [InlineData("IdleTimeout", "00:00:00", "Runtime:IdleTimeout must be between")]
    [InlineData("FrameTimeout", "02:00:00", "Runtime:FrameTimeout must be between")]
    [InlineData("WriteTimeout", "-00:00:01", "Runtime:WriteTimeout must be between")]
    [InlineData("TcpPort", "70000", "Runtime:TcpPort must be between 0 and 65535")]
    [InlineData("TcpBindAddress", "localhost", "Runtime:TcpBindAddress must be an IP address")]
    [InlineData("MaxResponseBytes", "20000000", "Runtime:MaxResponseBytes must be between 1 and")]
    [InlineData("DrainTimeout", "-00:00:01", "Runtime:DrainTimeout must be between")]
    [InlineData("UpstreamTimeout", "00:00:00", "Runtime:UpstreamTimeout must be between")]
    [InlineData("SocketFileMode", "0666", "Runtime:SocketFileMode '0666' lets any local user connect (o+w)")]
    [InlineData("SocketFileMode", "0777", "Runtime:SocketFileMode '0777' lets any local user connect (o+w)")]
    [InlineData("SocketFileMode", "rw-rw----", "Runtime:SocketFileMode must be octal permissions")]
    [InlineData("SocketGroup", "two words", "Runtime:SocketGroup must be a group name or numeric id")]
    [InlineData("AllowedHosts:0", "https://api.openai.com/v1", "Runtime:AllowedHosts:0 'https://api.openai.com/v1' must be a host name")]
    [InlineData("ListenUnix", "false", "there is nothing to listen on")]
    [InlineData("SocketPath", "/tmp/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock", "the Unix socket path limit")]
    public async Task Host_with_a_bad_value_stops_at_start_naming_the_key(string key, string value, string expected)
    {
        using var host = BuildHost(new() { [$"Runtime:{key}"] = value, ["Runtime:SocketPath"] = key == "SocketPath" ? value : TestRuntime.NewSocketPath() });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains(error.Failures, f => f.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Direct_construction_validates_too()
    {
        var error = Assert.Throws<OptionsValidationException>(() => new RuntimeServer(new RuntimeServerOptions { MaxInFlight = -1, SocketPath = TestRuntime.NewSocketPath() }));

        Assert.Contains("Runtime:MaxInFlight", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Embedded_in_a_host_it_serves_and_stops_cleanly()
    {
        var path = TestRuntime.NewSocketPath();
        using var host = BuildHost(new() { ["Runtime:SocketPath"] = path, ["Runtime:MaxInFlight"] = "7", ["Runtime:AllowedHosts:0"] = "127.0.0.1" });

        await host.StartAsync();
        var server = host.Services.GetRequiredService<RuntimeServer>();
        Assert.Equal(path, server.SocketPath);
        await using (var client = new RuntimeClient(new RuntimeClientOptions { SocketPath = path, PoolSize = 1 }))
        {
            var health = await client.HealthCheckAsync();
            Assert.Equal(7U, health.AvailableCredits);
            var response = await client.ExecuteAsync(HttpPayloadSerializer.ConnectorName, HttpPayloadSerializer.OperationName, TestRuntime.HttpPayload("GET", _upstream.Url("/json")));
            Assert.Equal(200, HttpPayloadSerializer.DeserializeResponse(response.Payload.Span).StatusCode);
        }

        await host.StopAsync();
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Endpoints_fall_back_to_the_vastar_environment_variables()
    {
        var environment = new Dictionary<string, string>
        {
            ["VASTAR_SOCKET_PATH"] = "/tmp/from-env.sock",
            ["VASTAR_USE_TCP"] = "true",
            ["VASTAR_TCP_PORT"] = "6123",
        };

        var fromEnvironment = ListenAddresses.Resolve(new RuntimeServerOptions(), environment.GetValueOrDefault);
        var fromOptions = ListenAddresses.Resolve(new RuntimeServerOptions { SocketPath = "/tmp/opt.sock", UseTcp = false }, environment.GetValueOrDefault);
        var defaults = ListenAddresses.Resolve(new RuntimeServerOptions(), _ => null);

        Assert.Equal("/tmp/from-env.sock", fromEnvironment.SocketPath);
        Assert.Equal("127.0.0.1:6123", fromEnvironment.TcpEndPoint!.ToString());
        Assert.Equal("/tmp/opt.sock", fromOptions.SocketPath);
        Assert.Null(fromOptions.TcpEndPoint);
        Assert.Equal(RuntimeClientOptions.DefaultSocketPath, defaults.SocketPath);
        Assert.Null(defaults.TcpEndPoint);
    }

    [Fact]
    public void Configuration_keys_bind_including_shared_client_keys()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Runtime:SocketPath"] = "/tmp/x.sock",
            ["Runtime:UseTcp"] = "true",
            ["Runtime:TcpPort"] = "5055",
            ["Runtime:Embedded"] = "true",
            ["Runtime:DefaultTimeout"] = "00:00:05",
            ["Runtime:AllowedHosts:0"] = "api.openai.com",
            ["Runtime:AllowedHosts:1"] = "127.0.0.1:4545",
            ["Runtime:DrainTimeout"] = "00:00:03",
            ["Runtime:MaxResponseBytes"] = "1000",
        }).Build();
        var services = new ServiceCollection().AddLogging().AddConnectorRuntime(configuration).BuildServiceProvider();

        var options = services.GetRequiredService<IOptions<RuntimeServerOptions>>().Value;

        Assert.Equal("/tmp/x.sock", options.SocketPath);
        Assert.True(options.UseTcp);
        Assert.Equal(5055, options.TcpPort);
        Assert.Equal(["api.openai.com", "127.0.0.1:4545"], options.AllowedHosts);
        Assert.Equal(TimeSpan.FromSeconds(3), options.DrainTimeout);
        Assert.Equal(1000, options.MaxResponseBytes);
    }

    private static IHost BuildHost(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.Services.AddConnectorRuntime(builder.Configuration);
        return builder.Build();
    }
}
