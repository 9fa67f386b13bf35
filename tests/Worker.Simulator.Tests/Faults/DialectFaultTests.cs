using System.Net;
using System.Text.Json;
using Worker.Simulator.Generation;
using Worker.Simulator.Tests.Infrastructure;

namespace Worker.Simulator.Tests.Faults;

/// <summary>In-stream faults on the Gemini and /generate streams use those APIs' shapes.</summary>
public sealed class DialectFaultTests
{
    [Fact]
    public async Task Gemini_error_event_is_a_google_error_object_ending_the_stream()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync(
            "v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
            """{"contents":[{"parts":[{"text":"hi"}]}]}""",
            ("X-Sim-Fault", "error_event;after=1"),
            ("X-Sim-Tokens", "5"));
        var events = await response.ReadEventsAsync();

        Assert.Equal(2, events.Count);
        var error = JsonDocument.Parse(events[1]).RootElement.GetProperty("error");
        SimulatorHttp.AssertProperties(error, "code", "message", "status");
        Assert.Equal("INTERNAL", error.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Generate_stream_drop_ends_the_body_prematurely_after_the_flushed_tokens()
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = sim.CreateClient();

        using var response = await http.SendAsync(
            "generate",
            """{"prompt":"hi","stream":true}""",
            ("X-Sim-Fault", "drop;after=2"),
            ("X-Sim-Tokens", "5"),
            ("X-Sim-Latency", "token=5ms"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var tokens = new List<string>();
        await using var body = await response.Content.ReadAsStreamAsync();
        await Assert.ThrowsAnyAsync<IOException>(async () =>
        {
            await foreach (var item in System.Net.ServerSentEvents.SseParser.Create(body).EnumerateAsync())
            {
                tokens.Add(JsonDocument.Parse(item.Data).RootElement.GetProperty("token").GetString()!);
            }
        });

        Assert.Equal(AnswerGenerator.GenerateTokens(AnswerGenerator.GenerateEndpointDefaultModel, "hi", 0, 2), tokens);
    }
}
