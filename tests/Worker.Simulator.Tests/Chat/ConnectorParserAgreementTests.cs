using Worker.Connector.OpenAi;
using Worker.Simulator.Generation;
using Worker.Simulator.Tests.Infrastructure;

namespace Worker.Simulator.Tests.Chat;

/// <summary>The simulator's streams and JSON answers, read by the Connector's own parser, give the same completion.</summary>
public sealed class ConnectorParserAgreementTests
{
    [Theory]
    [InlineData("What is the capital of France?")]
    [InlineData("Explain quantum computing in simple terms.")]
    [InlineData("Ünïcödé — «quotes» & <tags>")]
    public async Task Stream_and_json_parse_into_the_same_text_and_usage(string prompt)
    {
        await using var server = await SimulatorServer.StartAsync();
        using var client = server.CreateClient();
        using var streamed = await client.SendAsync("v1/chat/completions", SimulatorHttp.ChatBody(prompt, stream: true, extra: b => b["stream_options"] = new System.Text.Json.Nodes.JsonObject { ["include_usage"] = true }));
        using var whole = await client.SendAsync("v1/chat/completions", SimulatorHttp.ChatBody(prompt, stream: false));

        var fromStream = ChatCompletionParser.Parse(await streamed.Content.ReadAsStringAsync());
        var fromJson = ChatCompletionParser.Parse(await whole.Content.ReadAsStringAsync());

        Assert.True(fromStream.Streamed);
        Assert.False(fromJson.Streamed);
        Assert.Equal(fromJson.Content, fromStream.Content);
        Assert.Equal(AnswerGenerator.Generate(SimulatorHttp.Model, prompt), fromStream.Content);
        Assert.Equal("stop", fromStream.FinishReason);
        Assert.Equal(fromJson.FinishReason, fromStream.FinishReason);
        Assert.Equal(fromJson.Usage, fromStream.Usage);
    }
}
