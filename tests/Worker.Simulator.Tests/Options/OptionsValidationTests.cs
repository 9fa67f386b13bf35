using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Worker.Simulator.Hosting;
using Worker.Simulator.Options;
using Worker.Simulator.Tests.Infrastructure;

namespace Worker.Simulator.Tests.Options;

/// <summary>Invalid options stop start-up with a message naming the key; configuration binds as documented.</summary>
public sealed class OptionsValidationTests
{
    [Theory]
    [InlineData(1.5)]
    [InlineData(-0.1)]
    [InlineData(double.NaN)]
    public async Task Invalid_fault_rate_stops_start_up_naming_the_key(double rate)
    {
        var options = new SimulatorOptions { Faults = { Rate = rate } };

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => SimulatorServer.StartAsync(options));

        Assert.Contains("Simulator:Faults:Rate", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_invalid_value_is_reported()
    {
        var options = new SimulatorOptions
        {
            Latency = { TimeToFirstTokenMs = -1, TimePerTokenMs = -2 },
            Faults = { Modes = ["rate_limit", "meteor_strike"], RetryAfterSeconds = -3 },
        };

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => SimulatorServer.StartAsync(options));

        Assert.Contains("Simulator:Latency:TimeToFirstTokenMs", failure.Message, StringComparison.Ordinal);
        Assert.Contains("Simulator:Latency:TimePerTokenMs", failure.Message, StringComparison.Ordinal);
        Assert.Contains("Simulator:Faults:Modes", failure.Message, StringComparison.Ordinal);
        Assert.Contains("meteor_strike", failure.Message, StringComparison.Ordinal);
        Assert.Contains("Simulator:Faults:RetryAfterSeconds", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Executable_reads_options_and_urls_from_the_command_line()
    {
        await using var app = SimulatorApplication.CreateFromArgs(
            ["--urls", "http://127.0.0.1:0", "--Simulator:ApiKey=sk-from-command-line", "--Simulator:Faults:Modes:0=unavailable"]);
        await app.StartAsync();
        var address = Assert.Single(app.Urls);
        using var http = new HttpClient { BaseAddress = new Uri(address + "/") };

        using var denied = await http.SendAsync("v1/chat/completions", SimulatorHttp.ChatBody("hi"));
        using var allowed = await http.SendAsync("v1/chat/completions", SimulatorHttp.ChatBody("hi"), ("Authorization", "Bearer sk-from-command-line"));

        Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(["unavailable"], app.Services.GetRequiredService<IOptions<SimulatorOptions>>().Value.Faults.Modes);
        await app.StopAsync();
    }

    [Fact]
    public async Task Executable_rejects_an_invalid_rate_from_configuration()
    {
        await using var app = SimulatorApplication.CreateFromArgs(["--urls", "http://127.0.0.1:0", "--Simulator:Faults:Rate=2"]);

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains("Simulator:Faults:Rate", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Endpoints_can_be_mapped_into_another_application()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSimulator(configuration: null, o => o.Models = ["embedded"]);
        await using var app = builder.Build();
        app.MapSimulatorEndpoints();
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single() + "/") };

        using var response = await http.GetAsync("v1/models");

        Assert.Contains("embedded", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await app.StopAsync();
    }
}
