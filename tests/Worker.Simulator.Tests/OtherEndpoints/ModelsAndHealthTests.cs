using System.Net;
using Worker.Simulator.Tests.Infrastructure;

namespace Worker.Simulator.Tests.OtherEndpoints;

/// <summary>GET /v1/models and GET /health.</summary>
public sealed class ModelsAndHealthTests
{
    [Fact]
    public async Task Health_is_ok()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.GetAsync("health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"status":"ok"}""", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Models_lists_the_configured_models_in_the_OpenAI_list_shape()
    {
        await using var sim = await SimulatorServer.StartAsync(new() { Models = ["alpha", "beta"] });
        using var http = sim.CreateClient();

        using var response = await http.GetAsync("v1/models");
        var root = await response.ReadJsonAsync();

        SimulatorHttp.AssertProperties(root, "object", "data");
        Assert.Equal("list", root.GetProperty("object").GetString());
        var models = root.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(["alpha", "beta"], models.Select(m => m.GetProperty("id").GetString()));
        foreach (var model in models)
        {
            SimulatorHttp.AssertProperties(model, "id", "object", "created", "owned_by");
            Assert.Equal("model", model.GetProperty("object").GetString());
        }
    }

    [Fact]
    public async Task Models_defaults_and_single_model_lookup()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var list = await http.GetAsync("v1/models");
        Assert.Contains("gpt-4o-mini", (await list.ReadJsonAsync()).GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));

        using var one = await http.GetAsync("v1/models/gpt-4o");
        Assert.Equal("gpt-4o", (await one.ReadJsonAsync()).GetProperty("id").GetString());
    }
}
