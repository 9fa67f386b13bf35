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
    public async Task Invalid_rate_limit_and_capacity_values_are_reported_by_key()
    {
        var options = new SimulatorOptions
        {
            RateLimits = { RequestsPerMinute = -1, TokensPerMinute = -2, DefaultMaxTokens = -3, RetryAfterProbability = 1.5, BurstSeconds = 0 },
            Capacity = { MaxConcurrent = -4, Overflow = (CapacityOverflow)7 },
        };

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => SimulatorServer.StartAsync(options));

        Assert.Contains("Simulator:RateLimits:RequestsPerMinute must be >= 0", failure.Message, StringComparison.Ordinal);
        Assert.Contains("Simulator:RateLimits:TokensPerMinute must be >= 0", failure.Message, StringComparison.Ordinal);
        Assert.Contains("Simulator:RateLimits:DefaultMaxTokens must be >= 0", failure.Message, StringComparison.Ordinal);
        Assert.Contains("Simulator:RateLimits:RetryAfterProbability must be between 0 and 1", failure.Message, StringComparison.Ordinal);
        Assert.Contains("Simulator:RateLimits:BurstSeconds must be > 0", failure.Message, StringComparison.Ordinal);
        Assert.Contains("Simulator:Capacity:MaxConcurrent must be >= 0", failure.Message, StringComparison.Ordinal);
        Assert.Contains("Simulator:Capacity:Overflow must be Queue or Reject", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_burst_that_holds_less_than_one_request_is_refused()
    {
        var options = new SimulatorOptions { RateLimits = { RequestsPerMinute = 10, BurstSeconds = 1 } };

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => SimulatorServer.StartAsync(options));

        Assert.Contains("Simulator:RateLimits:BurstSeconds is too small", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rate_limit_and_capacity_options_bind_from_the_command_line()
    {
        await using var app = SimulatorApplication.CreateFromArgs(
        [
            "--urls", "http://127.0.0.1:0",
            "--Simulator:RateLimits:RequestsPerMinute=60", "--Simulator:RateLimits:TokensPerMinute=1000",
            "--Simulator:RateLimits:BurstSeconds=1.5", "--Simulator:RateLimits:RetryAfterProbability=0.25",
            "--Simulator:RateLimits:Seed=3", "--Simulator:RateLimits:DefaultMaxTokens=64",
            "--Simulator:Capacity:MaxConcurrent=4", "--Simulator:Capacity:Overflow=Reject",
        ]);
        await app.StartAsync();

        var options = app.Services.GetRequiredService<IOptions<SimulatorOptions>>().Value;
        Assert.Equal(60, options.RateLimits.RequestsPerMinute);
        Assert.Equal(1000, options.RateLimits.TokensPerMinute);
        Assert.Equal(1.5, options.RateLimits.BurstSeconds);
        Assert.Equal(0.25, options.RateLimits.RetryAfterProbability);
        Assert.Equal(3, options.RateLimits.Seed);
        Assert.Equal(64, options.RateLimits.DefaultMaxTokens);
        Assert.Equal(4, options.Capacity.MaxConcurrent);
        Assert.Equal(CapacityOverflow.Reject, options.Capacity.Overflow);
        await app.StopAsync();
    }

    [Fact]
    public void Copying_options_copies_the_rate_limit_and_capacity_sections()
    {
        var source = new SimulatorOptions
        {
            RateLimits = { RequestsPerMinute = 1, TokensPerMinute = 2, BurstSeconds = 3, DefaultMaxTokens = 4, RetryAfterProbability = 0.5, Seed = 6 },
            Capacity = { MaxConcurrent = 7, Overflow = CapacityOverflow.Reject },
        };
        var target = new SimulatorOptions();

        source.CopyTo(target);
        source.RateLimits.RequestsPerMinute = 100;
        source.Capacity.MaxConcurrent = 100;

        Assert.Equal((1, 2, 3.0, 4, 0.5, (int?)6), (target.RateLimits.RequestsPerMinute, target.RateLimits.TokensPerMinute, target.RateLimits.BurstSeconds, target.RateLimits.DefaultMaxTokens, target.RateLimits.RetryAfterProbability, target.RateLimits.Seed));
        Assert.Equal((7, CapacityOverflow.Reject), (target.Capacity.MaxConcurrent, target.Capacity.Overflow));
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
