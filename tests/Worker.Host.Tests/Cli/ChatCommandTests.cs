using Worker.Host.Cli;
using Worker.Simulator;
using Worker.Simulator.Generation;
using Worker.Simulator.Options;

namespace Worker.Host.Tests.Cli;

/// <summary>The seed example's steps and troubleshooting cases, through a real runtime socket and a real simulator.</summary>
public sealed class ChatCommandTests
{
    private static string NewSocket() => Path.Combine(Path.GetTempPath(), $"chat-{Guid.NewGuid():N}"[..15] + ".sock");

    private static Task<(int Code, string Out, string Err)> RunAsync(params string[] args) => RunWithProviderAsync(null, args);

    private static async Task<(int Code, string Out, string Err)> RunWithProviderAsync(string? provider, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await new ChatCommand(args, output, error).RunAsync("Explain quantum computing in simple terms.", provider, CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }

    private static SimulatorOptions AllProviders() => new() { Models = ["gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.0-flash"] };

    private static void AssertEveryStepAnswered(string output, string model)
    {
        Assert.Contains(AnswerGenerator.Generate(model, "Explain quantum computing in simple terms."), output, StringComparison.Ordinal);
        Assert.Contains(AnswerGenerator.Generate(model, "What is the capital of France?") + "  (JSON body)", output, StringComparison.Ordinal);
        foreach (var question in new[] { "What is Python?", "What is asyncio?", "What is a decorator?" })
        {
            Assert.Contains($"A: {AnswerGenerator.Generate(model, question)}", output, StringComparison.Ordinal);
        }

        Assert.Contains("All chat steps succeeded.", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("anthropic", "claude-sonnet-4-5")]
    [InlineData("gemini", "gemini-2.0-flash")]
    public async Task With_a_provider_and_the_simulator_on_every_seed_step_runs_against_that_providers_route(string provider, string model)
    {
        await using var sim = await SimulatorServer.StartAsync(AllProviders());
        sim.Stats.Reset();
        var (code, output, error) = await RunWithProviderAsync(
            provider, "--Llm:UseSimulator=true", $"--Llm:SimulatorUrl={sim.BaseAddress}v1", "--Llm:ApiKey=", "--Runtime:Embedded=true", $"--Runtime:SocketPath={NewSocket()}");

        Assert.True(code == 0, error);
        Assert.Contains($"Provider: {provider}   Endpoint name: simulator-{provider}   Model: {model}", output, StringComparison.Ordinal);
        Assert.Contains($"Connection successful ({provider}, ", output, StringComparison.Ordinal);
        AssertEveryStepAnswered(output, model);
        Assert.Equal(6, sim.Stats.TotalRequests);
    }

    [Fact]
    public async Task A_provider_uses_its_first_configured_endpoint()
    {
        await using var sim = await SimulatorServer.StartAsync(AllProviders());
        var (code, output, error) = await RunWithProviderAsync(
            "anthropic",
            $"--Llm:BaseUrl={sim.BaseAddress}v1", "--Llm:ApiKey=", "--Runtime:Embedded=true", $"--Runtime:SocketPath={NewSocket()}",
            "--Llm:Endpoints:claude:Provider=anthropic", $"--Llm:Endpoints:claude:BaseUrl={sim.BaseAddress}v1", "--Llm:Endpoints:claude:Models:0=claude-sonnet-4-5",
            "--Llm:Endpoints:claude:ApiKeyVariable=WORKER_TEST_UNSET_KEY");

        Assert.True(code == 0, error);
        Assert.Contains("Provider: anthropic   Endpoint name: claude   Model: claude-sonnet-4-5", output, StringComparison.Ordinal);
        AssertEveryStepAnswered(output, "claude-sonnet-4-5");
    }

    [Fact]
    public async Task The_openai_provider_is_the_default_endpoint()
    {
        await using var sim = await SimulatorServer.StartAsync(AllProviders());
        var (code, output, error) = await RunWithProviderAsync(
            "openai", $"--Llm:BaseUrl={sim.BaseAddress}v1", "--Llm:ApiKey=", "--Runtime:Embedded=true", $"--Runtime:SocketPath={NewSocket()}");

        Assert.True(code == 0, error);
        Assert.Contains("Provider: openai   Endpoint name: default", output, StringComparison.Ordinal);
        Assert.Contains("Connection successful (SSE stream detected)", output, StringComparison.Ordinal);
        AssertEveryStepAnswered(output, "gpt-4o-mini");
    }

    [Fact]
    public async Task A_provider_key_refused_names_that_providers_variable_without_echoing_the_key()
    {
        await using var sim = await SimulatorServer.StartAsync(new SimulatorOptions { ApiKey = "sk-expected", Models = ["claude-sonnet-4-5"] });
        Environment.SetEnvironmentVariable("WORKER_TEST_WRONG_KEY", "sk-presented-wrong");
        var (code, output, error) = await RunWithProviderAsync(
            "anthropic", "--Runtime:Embedded=true", $"--Runtime:SocketPath={NewSocket()}", $"--Llm:BaseUrl={sim.BaseAddress}v1",
            "--Llm:Endpoints:claude:Provider=anthropic", $"--Llm:Endpoints:claude:BaseUrl={sim.BaseAddress}v1", "--Llm:Endpoints:claude:Models:0=claude-sonnet-4-5",
            "--Llm:Endpoints:claude:ApiKeyVariable=WORKER_TEST_WRONG_KEY");

        Assert.Equal(1, code);
        Assert.Contains("API key missing or refused", error, StringComparison.Ordinal);
        Assert.Contains("ANTHROPIC_API_KEY", error, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-presented-wrong", error + output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Runs_every_seed_step_against_the_simulator_through_the_embedded_runtime()
    {
        await using var sim = await SimulatorServer.StartAsync();
        var (code, output, error) = await RunAsync(
            $"--Llm:BaseUrl={sim.BaseAddress}v1", "--Llm:ApiKey=", "--Runtime:Embedded=true", $"--Runtime:SocketPath={NewSocket()}");

        Assert.True(code == 0, error);
        Assert.Contains("Connection successful (SSE stream detected)", output, StringComparison.Ordinal);
        Assert.Contains(AnswerGenerator.Generate("gpt-4o-mini", "Explain quantum computing in simple terms."), output, StringComparison.Ordinal);
        Assert.Contains(AnswerGenerator.Generate("gpt-4o-mini", "What is the capital of France?") + "  (JSON body)", output, StringComparison.Ordinal);
        foreach (var question in new[] { "What is Python?", "What is asyncio?", "What is a decorator?" })
        {
            Assert.Contains($"A: {AnswerGenerator.Generate("gpt-4o-mini", question)}", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Runtime_not_listening_is_named_with_its_path()
    {
        var socket = NewSocket();
        var (code, _, error) = await RunAsync("--Runtime:Embedded=false", $"--Runtime:SocketPath={socket}", "--Runtime:ConnectTimeout=00:00:01");
        Assert.Equal(1, code);
        Assert.Contains($"Runtime not listening at {socket}", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Endpoint_refused_names_the_url()
    {
        var port = System.Net.Sockets.TcpListener.Create(0) is var l ? Free(l) : 0;
        var (code, _, error) = await RunAsync($"--Llm:BaseUrl=http://127.0.0.1:{port}/v1", "--Runtime:Embedded=true", $"--Runtime:SocketPath={NewSocket()}");
        Assert.Equal(1, code);
        Assert.Contains($"Endpoint refused at http://127.0.0.1:{port}/v1/chat/completions", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unauthorized_says_the_key_is_missing_or_refused_without_echoing_it()
    {
        await using var sim = await SimulatorServer.StartAsync(new SimulatorOptions { ApiKey = "sk-expected" });
        var (code, output, error) = await RunAsync(
            $"--Llm:BaseUrl={sim.BaseAddress}v1", "--Llm:ApiKey=sk-presented-wrong", "--Runtime:Embedded=true", $"--Runtime:SocketPath={NewSocket()}");
        Assert.Equal(1, code);
        Assert.Contains("API key missing or refused", error, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-presented-wrong", error + output, StringComparison.Ordinal);
    }

    private static int Free(System.Net.Sockets.TcpListener listener)
    {
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
