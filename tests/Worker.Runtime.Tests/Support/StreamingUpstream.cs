using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Worker.Runtime.Tests.Support;

/// <summary>
/// A Kestrel endpoint that streams OpenAI-style SSE answers slowly, on a gate, or without end, and counts how its
/// streams ended (finished, or aborted by the caller), for the streaming tests.
/// </summary>
public sealed class StreamingUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _gates = new();
    private int _finished;
    private int _aborted;
    private long _endlessBytes;

    private StreamingUpstream(WebApplication app)
    {
        _app = app;
    }

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Streams that wrote their last byte.</summary>
    public int Finished => Volatile.Read(ref _finished);

    /// <summary>Streams the caller went away from before they ended.</summary>
    public int Aborted => Volatile.Read(ref _aborted);

    /// <summary>Bytes /endless managed to write (the socket pushes back once nobody reads).</summary>
    public long EndlessBytes => Interlocked.Read(ref _endlessBytes);

    public string Url(string pathAndQuery) => new Uri(BaseAddress, pathAndQuery).ToString();

    /// <summary>Lets the /gated/<paramref name="id"/> stream finish.</summary>
    public void OpenGate(string id) => Gate(id).TrySetResult();

    private TaskCompletionSource Gate(string id) => _gates.GetOrAdd(id, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public static async Task<StreamingUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var upstream = new StreamingUpstream(app);
        upstream.Map(app);
        await app.StartAsync();
        upstream.BaseAddress = new Uri(app.Urls.First());
        return upstream;
    }

    public static string Delta(string text) =>
        $"data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}},\"finish_reason\":null}}]}}\n\n";

    public static string Finish(string reason = "stop") =>
        $"data: {{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{}},\"finish_reason\":\"{reason}\"}}]}}\n\n";

    public const string Usage = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7}}\n\n";

    public const string Done = "data: [DONE]\n\n";

    private const string ChatPath = "/chat/completions";

    private void Map(WebApplication app)
    {
        // Every scenario also answers at {scenario}/chat/completions, so a chat client's BaseUrl can name it.
        app.Use((context, next) =>
        {
            if (context.Request.Path.Value is { } path && path.EndsWith(ChatPath, StringComparison.Ordinal))
            {
                context.Request.Path = path[..^ChatPath.Length];
            }

            return next(context);
        });
        app.UseRouting();

        // N words, one event each, ms apart, then finish, usage and [DONE].
        app.MapMethods("/words/{n:int}/{ms:int}", ["GET", "POST"], (int n, int ms, HttpContext context) => RunAsync(context, async (response, cancel) =>
        {
            for (var i = 0; i < n; i++)
            {
                await WriteAsync(response, Delta($"w{i} "), cancel);
                await Task.Delay(ms, cancel);
            }

            await WriteAsync(response, Finish() + Usage + Done, cancel);
        }));

        // Two words, then waits for OpenGate before the rest.
        app.MapMethods("/gated/{id}", ["GET", "POST"], (string id, HttpContext context) => RunAsync(context, async (response, cancel) =>
        {
            await WriteAsync(response, Delta("Hello "), cancel);
            await Gate(id).Task.WaitAsync(cancel);
            await WriteAsync(response, Delta("world") + Finish() + Usage + Done, cancel);
        }));

        // Never ends: 8 KiB events as fast as the caller takes them.
        app.MapMethods("/endless", ["GET", "POST"], (HttpContext context) => RunAsync(context, async (response, cancel) =>
        {
            var data = Encoding.UTF8.GetBytes(Delta(new string('x', 8 * 1024)));
            while (true)
            {
                await response.Body.WriteAsync(data, cancel);
                await response.Body.FlushAsync(cancel);
                Interlocked.Add(ref _endlessBytes, data.Length);
            }
        }));

        // Headers only after a delay (cancel before the head).
        app.MapMethods("/late/{ms:int}", ["GET", "POST"], async (int ms, HttpContext context) =>
        {
            try
            {
                await Task.Delay(ms, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                Interlocked.Increment(ref _aborted);
                return;
            }

            await RunAsync(context, (response, cancel) => WriteAsync(response, Delta("late") + Finish() + Done, cancel));
        });

        // Mid-stream failures: an error event, a cut connection, a stream that just stops.
        app.MapMethods("/error-event", ["GET", "POST"], (HttpContext context) => RunAsync(context, (response, cancel) =>
            WriteAsync(response, Delta("partial ") + "data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"rate_limit_exceeded\",\"code\":\"rate_limit_exceeded\"}}\n\n", cancel)));
        app.MapMethods("/cut", ["GET", "POST"], (HttpContext context) => RunAsync(context, async (response, cancel) =>
        {
            await WriteAsync(response, Delta("partial "), cancel);
            await Task.Delay(50, cancel);
            context.Abort();
        }));
        app.MapMethods("/truncated", ["GET", "POST"], (HttpContext context) => RunAsync(context, (response, cancel) =>
            WriteAsync(response, Delta("partial "), cancel)));
        app.MapMethods("/status/{code:int}", ["GET", "POST"], (int code, HttpContext context) =>
        {
            context.Response.Headers.RetryAfter = "7";
            return Results.Json(new { error = new { message = $"status {code}", type = "server_error" } }, statusCode: code);
        });
        app.MapMethods("/json", ["GET", "POST"], () => Results.Json(new
        {
            id = "c1",
            @object = "chat.completion",
            model = "m",
            choices = new[] { new { index = 0, message = new { role = "assistant", content = "whole" }, finish_reason = "stop" } },
        }));
    }

    private async Task RunAsync(HttpContext context, Func<HttpResponse, CancellationToken, Task> write)
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers["x-request-id"] = "req-1";
        try
        {
            await context.Response.StartAsync(context.RequestAborted);
            await write(context.Response, context.RequestAborted);
            Interlocked.Increment(ref _finished);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            Interlocked.Increment(ref _aborted);
        }
    }

    private static async Task WriteAsync(HttpResponse response, string text, CancellationToken cancellationToken)
    {
        await response.WriteAsync(text, cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var gate in _gates.Values)
        {
            gate.TrySetResult();
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
