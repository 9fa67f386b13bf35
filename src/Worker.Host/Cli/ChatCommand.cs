using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Worker.Connector;
using Worker.Connector.Anthropic;
using Worker.Connector.Client;
using Worker.Connector.Gemini;
using Worker.Connector.Http;
using Worker.Connector.OpenAi;
using Worker.Connector.Sse;
using Worker.Host.Configuration;
using Worker.Host.Endpoints;

namespace Worker.Host.Cli;

/// <summary>
/// <c>chat</c>: what the seed's example script does, through the runtime socket — connection test, a streaming
/// completion, a non-streaming one (SSE or JSON body accepted), sequential requests — with the seed's
/// troubleshooting cases turned into clear messages. <c>--provider</c> runs the same steps against an OpenAI,
/// Anthropic or Gemini endpoint (<see cref="ResolveProvider"/>).
/// </summary>
internal sealed class ChatCommand
{
    /// <summary>The values of <c>--provider</c>.</summary>
    public static readonly string[] Providers = [EndpointProviders.OpenAi, EndpointProviders.Anthropic, EndpointProviders.Gemini];

    private static readonly string[] SequentialPrompts = ["What is Python?", "What is asyncio?", "What is a decorator?"];
    private readonly string[] _args;
    private readonly TextWriter _out;
    private readonly TextWriter _err;

    public ChatCommand(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        _args = args;
        _out = output ?? Console.Out;
        _err = error ?? Console.Error;
    }

    public Task<int> RunAsync(string prompt, CancellationToken cancellationToken) => RunAsync(prompt, null, cancellationToken);

    public async Task<int> RunAsync(string prompt, string? provider, CancellationToken cancellationToken)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = _args,
            ContentRootPath = WorkerHostBuilder.ContentRoot(),
        });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddWorkerOptions(builder.Configuration);
        if (builder.Configuration.GetValue($"{RuntimeHostOptions.SectionName}:{nameof(RuntimeHostOptions.Embedded)}", true))
        {
            builder.Services.AddEmbeddedRuntime(builder.Configuration);
        }

        using var host = builder.Build();
        await host.StartAsync(cancellationToken);
        try
        {
            var runtime = host.Services.GetRequiredService<RuntimeClient>();
            var chat = host.Services.GetRequiredService<OpenAiChatClient>();
            if (provider is null)
            {
                return await RunStepsAsync(runtime, chat, prompt, cancellationToken);
            }

            var llm = host.Services.GetRequiredService<IOptions<LlmHostOptions>>().Value;
            var useSimulator = llm.UseSimulator || string.Equals(builder.Configuration[LlmHostOptions.UseSimulatorVariable], "true", StringComparison.OrdinalIgnoreCase);
            var (name, client) = ResolveProvider(provider, new ChatEndpoints(chat, runtime, Options.Create(llm)), llm, useSimulator, runtime);
            await _out.WriteLineAsync($"Provider: {provider}   Endpoint name: {name}   Model: {client.DefaultModel}");
            return await RunStepsAsync(runtime, client, prompt, cancellationToken);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// The endpoint <c>--provider</c> talks to: openai is the default endpoint (<c>Llm:BaseUrl</c>, as without the
    /// option); anthropic and gemini the first named endpoint of that provider; with none, the simulator's route for
    /// it when the simulator is on, else the provider's public API (key from its usual variable).
    /// </summary>
    internal static (string Name, IChatCompletionClient Client) ResolveProvider(string provider, ChatEndpoints endpoints, LlmHostOptions llm, bool useSimulator, RuntimeClient runtime)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(llm);
        if (provider == EndpointProviders.OpenAi)
        {
            return (endpoints.DefaultEndpoint.Name, endpoints.DefaultEndpoint.Client);
        }

        if (endpoints.All.FirstOrDefault(e => e.Provider == provider) is { } configured)
        {
            return (configured.Name, configured.Client);
        }

        // The simulator serves every provider's routes under one root: /v1/messages, /v1beta/models/...
        var root = llm.SimulatorUrl.TrimEnd('/') is var url && url.EndsWith("/v1", StringComparison.Ordinal) ? url[..^"/v1".Length] : url;
        var baseUrl = provider switch
        {
            EndpointProviders.Anthropic => useSimulator ? root + "/v1" : new AnthropicOptions().BaseUrl,
            EndpointProviders.Gemini => useSimulator ? root + "/v1beta" : new GeminiOptions().BaseUrl,
            _ => throw new ArgumentException($"--provider: unknown provider '{provider}' (one of {string.Join(", ", Providers)})", nameof(provider)),
        };
        var name = useSimulator ? $"simulator-{provider}" : provider;
        return (name, ChatEndpointFactory.Create(name, new LlmEndpointOptions { Provider = provider, BaseUrl = baseUrl }, runtime).Client);
    }

    private async Task<int> RunStepsAsync(RuntimeClient runtime, IChatCompletionClient chat, string prompt, CancellationToken cancellationToken)
    {
        await _out.WriteLineAsync($"Runtime: {runtime.Endpoint}   Endpoint: {chat.Endpoint}");
        try
        {
            await _out.WriteLineAsync("\n1. Testing connection...");
            if (chat is OpenAiChatClient openAi)
            {
                var probe = await openAi.CompleteRawAsync(new ChatCompletionRequest { Messages = [ChatMessage.User("Say hello")], MaxTokens = 5 }, cancellationToken);
                probe.EnsureSuccess(chat.Endpoint);
                await _out.WriteLineAsync(probe.IsStreaming || SseEvents.LooksLikeEventStream(probe.Body)
                    ? "Connection successful (SSE stream detected)"
                    : "Connection successful (JSON response)");
            }
            else
            {
                // Anthropic and Gemini answer in their own forms; the client reads either body (SSE or JSON).
                var hello = await chat.CompleteAsync(new ChatCompletionRequest { Messages = [ChatMessage.User("Say hello")], MaxTokens = 5 }, cancellationToken);
                await _out.WriteLineAsync($"Connection successful ({hello.Provider ?? "?"}, {(hello.Streamed ? "SSE stream" : "JSON response")})");
            }

            await _out.WriteLineAsync($"\n2. Streaming completion: {prompt}");
            var streamed = await chat.CompleteAsync(new ChatCompletionRequest { Messages = [ChatMessage.User(prompt)], Stream = true }, cancellationToken);
            await _out.WriteLineAsync(streamed.Content);

            await _out.WriteLineAsync("\n3. Non-streaming completion: What is the capital of France?");
            var whole = await chat.CompleteAsync(new ChatCompletionRequest { Messages = [ChatMessage.User("What is the capital of France?")], Stream = false }, cancellationToken);
            await _out.WriteLineAsync($"{whole.Content}  ({(whole.Streamed ? "SSE" : "JSON")} body)");

            await _out.WriteLineAsync("\n4. Sequential requests");
            foreach (var question in SequentialPrompts)
            {
                var watch = Stopwatch.StartNew();
                var answer = await chat.CompleteAsync(new ChatCompletionRequest { Messages = [ChatMessage.User(question)] }, cancellationToken);
                await _out.WriteLineAsync($"Q: {question}\nA: {answer.Content}  [{watch.ElapsedMilliseconds} ms]");
            }

            await _out.WriteLineAsync("\nAll chat steps succeeded.");
            return 0;
        }
        catch (ConnectorException ex)
        {
            await _err.WriteLineAsync("\n" + Troubleshoot(ex, runtime, chat));
            return 1;
        }
    }

    /// <summary>The seed's troubleshooting cases as one clear line each.</summary>
    internal static string Troubleshoot(ConnectorException ex, RuntimeClient runtime, IChatCompletionClient chat) => ex switch
    {
        { RuntimeUnavailable: true } => $"Runtime not listening at {runtime.Endpoint}. Start it (dotnet run --project src/Worker.Runtime), "
            + "use the embedded one (Runtime:Embedded=true), or point VASTAR_SOCKET_PATH at its socket.",
        { StatusCode: 401 or 403 } => $"API key missing or refused by {HttpStatusClassifier.SafeUrl(chat.Endpoint)} (HTTP {ex.StatusCode}): set {KeyVariable(chat)}, or USE_SIMULATOR=true.",
        { ErrorClass: ErrorClass.Transient, StatusCode: null } when ex.Message.Contains("HTTP request failed", StringComparison.Ordinal) =>
            $"Endpoint refused at {HttpStatusClassifier.SafeUrl(chat.Endpoint)}: is the simulator running (dotnet run --project src/Worker.Simulator)? ({ex.Message})",
        _ => $"Chat failed ({ex.ErrorClass}): {ex.Message}",
    };

    /// <summary>The provider's usual key variable (a named endpoint may use another: Llm:Endpoints:&lt;name&gt;:ApiKeyVariable).</summary>
    private static string KeyVariable(IChatCompletionClient chat) => chat switch
    {
        AnthropicMessagesClient => $"{AnthropicOptions.ApiKeyVariable} (or the endpoint's Llm:Endpoints:<name>:ApiKeyVariable)",
        GeminiClient => $"{GeminiOptions.ApiKeyVariable} (or the endpoint's Llm:Endpoints:<name>:ApiKeyVariable)",
        _ => "OPENAI_API_KEY",
    };
}
