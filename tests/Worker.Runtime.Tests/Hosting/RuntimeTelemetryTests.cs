using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Worker.Connector.Client;
using Worker.Connector.Http;
using Worker.Runtime.Hosting;
using Worker.Runtime.Tests.Support;

using Worker.Testing;

namespace Worker.Runtime.Tests.Hosting;

/// <summary>The standalone runtime exports traces and metrics over OTLP when the standard variables say where.</summary>
public sealed class RuntimeTelemetryTests
{
    [Fact]
    public void Telemetry_is_only_enabled_by_an_otlp_endpoint()
    {
        static bool Enabled(params (string, string?)[] values) =>
            RuntimeTelemetry.IsEnabled(new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Item1, v.Item2))).Build());

        Assert.False(Enabled());
        Assert.False(Enabled(("OTEL_SERVICE_NAME", "x")));
        Assert.True(Enabled(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")));
        Assert.True(Enabled(("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://collector:4318/v1/metrics")));
    }

    [Fact]
    public async Task The_executable_exports_runtime_spans_and_metrics_including_System_Runtime_over_otlp()
    {
        // A collector stand-in: records what arrives on the OTLP/HTTP paths. It is also the upstream the request goes to.
        var received = new ConcurrentQueue<(string Path, byte[] Body)>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        await using var collector = builder.Build();
        collector.MapPost("/v1/{signal}", async (HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            received.Enqueue((context.Request.Path.Value!, body.ToArray()));
        });
        collector.MapGet("/upstream", () => "hello");
        await collector.StartAsync();
        var address = collector.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();

        var socket = TestRuntime.NewSocketPath();
        await using var runtime = ChildProcess.Start("Worker.Runtime.dll", ["--socket", socket], new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = address,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "300",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_SERVICE_NAME"] = "runtime-under-test",
        });
        try
        {
            await TestRuntime.EventuallyAsync(() => File.Exists(socket) || runtime.HasExited, TimeSpan.FromSeconds(30), "the runtime socket");
            Assert.False(runtime.HasExited, runtime.StandardError);

            await using var client = new RuntimeClient(new RuntimeClientOptions { SocketPath = socket, UseTcp = false, DefaultTimeout = TimeSpan.FromSeconds(10) });
            var response = await client.SendHttpAsync(Connector.Http.HttpRequest.Get(address + "/upstream"));
            Assert.Equal(200, response.StatusCode);

            bool Has(string path, string text) => received.Any(r => r.Path == path && Encoding.UTF8.GetString(r.Body).Contains(text, StringComparison.Ordinal));
            await TestRuntime.EventuallyAsync(
                () => Has("/v1/metrics", "System.Runtime") && Has("/v1/metrics", "runtime-under-test") && Has("/v1/traces", "Worker.Runtime"),
                TimeSpan.FromSeconds(20),
                "OTLP metrics with the System.Runtime meter and traces from Worker.Runtime");
        }
        finally
        {
            await runtime.DisposeAsync();
            File.Delete(socket);
        }
    }
}
