using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Worker.Connector;
using Worker.Connector.Client;
using Worker.Connector.Http;
using Worker.Connector.OpenAi;
using Worker.Connector.Sse;
using Worker.Host.Configuration;

namespace Worker.Host.Cli;

/// <summary>
/// <c>chat</c>: what the seed's example script does, through the runtime socket — connection test, a streaming
/// completion, a non-streaming one (SSE or JSON body accepted), sequential requests — with the seed's
/// troubleshooting cases turned into clear messages.
/// </summary>
internal sealed class ChatCommand
{
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

    public async Task<int> RunAsync(string prompt, CancellationToken cancellationToken)
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
            return await RunStepsAsync(runtime, chat, prompt, cancellationToken);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    private async Task<int> RunStepsAsync(RuntimeClient runtime, OpenAiChatClient chat, string prompt, CancellationToken cancellationToken)
    {
        await _out.WriteLineAsync($"Runtime: {runtime.Endpoint}   Endpoint: {chat.Endpoint}");
        try
        {
            await _out.WriteLineAsync("\n1. Testing connection...");
            var probe = await chat.CompleteRawAsync(new ChatCompletionRequest { Messages = [ChatMessage.User("Say hello")], MaxTokens = 5 }, cancellationToken);
            probe.EnsureSuccess(chat.Endpoint);
            await _out.WriteLineAsync(probe.IsStreaming || SseEvents.LooksLikeEventStream(probe.Body)
                ? "Connection successful (SSE stream detected)"
                : "Connection successful (JSON response)");

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
    internal static string Troubleshoot(ConnectorException ex, RuntimeClient runtime, OpenAiChatClient chat) => ex switch
    {
        { RuntimeUnavailable: true } => $"Runtime not listening at {runtime.Endpoint}. Start it (dotnet run --project src/Worker.Runtime), "
            + "use the embedded one (Runtime:Embedded=true), or point VASTAR_SOCKET_PATH at its socket.",
        { StatusCode: 401 or 403 } => $"API key missing or refused by {HttpStatusClassifier.SafeUrl(chat.Endpoint)} (HTTP {ex.StatusCode}): set OPENAI_API_KEY, or USE_SIMULATOR=true.",
        { ErrorClass: ErrorClass.Transient, StatusCode: null } when ex.Message.Contains("HTTP request failed", StringComparison.Ordinal) =>
            $"Endpoint refused at {HttpStatusClassifier.SafeUrl(chat.Endpoint)}: is the simulator running (dotnet run --project src/Worker.Simulator)? ({ex.Message})",
        _ => $"Chat failed ({ex.ErrorClass}): {ex.Message}",
    };
}
