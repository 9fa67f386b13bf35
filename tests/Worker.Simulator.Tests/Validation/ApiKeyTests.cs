using System.Net;
using System.Text.Json;
using Worker.Simulator.Stats;
using Worker.Simulator.Tests.Infrastructure;
using static Worker.Simulator.Tests.Infrastructure.SimulatorHttp;

namespace Worker.Simulator.Tests.Validation;

/// <summary>With Simulator:ApiKey set, requests need the key; wrong keys are never echoed in full.</summary>
public sealed class ApiKeyTests
{
    private const string Key = "sk-sim-correct-key-0123456789";

    [Fact]
    public async Task Missing_key_is_401_invalid_api_key()
    {
        await using var sim = await SimulatorServer.StartAsync(new() { ApiKey = Key });
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/chat/completions", ChatBody("hi"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var error = (await response.ReadJsonAsync()).GetProperty("error");
        AssertProperties(error, "message", "type", "param", "code");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        Assert.Equal(1, sim.Stats.Count(SimulatorOutcome.Unauthorized));
    }

    [Fact]
    public async Task Wrong_key_is_401_and_masked()
    {
        const string Wrong = "sk-someone-elses-secret-WXYZ";
        await using var sim = await SimulatorServer.StartAsync(new() { ApiKey = Key });
        using var http = sim.CreateClient();

        using var response = await http.SendAsync("v1/chat/completions", ChatBody("hi"), ("Authorization", $"Bearer {Wrong}"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var error = (await response.ReadJsonAsync()).GetProperty("error");
        var message = error.GetProperty("message").GetString()!;
        Assert.StartsWith("Incorrect API key provided", message, StringComparison.Ordinal);
        Assert.DoesNotContain(Wrong, message, StringComparison.Ordinal);
        Assert.DoesNotContain("someone-elses-secret", message, StringComparison.Ordinal);
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Correct_key_is_200_and_models_need_it_too()
    {
        await using var sim = await SimulatorServer.StartAsync(new() { ApiKey = Key });
        using var http = sim.CreateClient();

        using var ok = await http.SendAsync("v1/chat/completions", ChatBody("hi"), ("Authorization", $"Bearer {Key}"));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);

        using var models = await http.GetAsync("v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, models.StatusCode);

        using var health = await http.GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Gemini_routes_accept_the_google_key_header()
    {
        await using var sim = await SimulatorServer.StartAsync(new() { ApiKey = Key });
        using var http = sim.CreateClient();
        const string Body = """{"contents":[{"parts":[{"text":"hi"}]}]}""";

        using var ok = await http.SendAsync("v1beta/models/gemini-2.0-flash:generateContent", Body, ("x-goog-api-key", Key));
        using var wrong = await http.SendAsync("v1beta/models/gemini-2.0-flash:generateContent", Body, ("x-goog-api-key", "nope-nope-nope-nope"));

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.Equal("INVALID_ARGUMENT", (await wrong.ReadJsonAsync()).GetProperty("error").GetProperty("status").GetString());
    }
}
