using System.Collections.Concurrent;
using System.IO.Compression;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Worker.Runtime.Tests.Support;

/// <summary>A real HTTP endpoint on Kestrel (127.0.0.1, free port) with the behaviours the runtime tests need.</summary>
public sealed class TestUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _slowInFlight;
    private int _slowPeak;
    private int _hanging;
    private int _bigServed;

    private TestUpstream(WebApplication app)
    {
        _app = app;
    }

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Host and port, as "127.0.0.1:N".</summary>
    public string Authority => BaseAddress.Authority;

    public int SlowInFlight => Volatile.Read(ref _slowInFlight);

    public int SlowPeak => Volatile.Read(ref _slowPeak);

    /// <summary>Requests to /big answered so far.</summary>
    public int BigServed => Volatile.Read(ref _bigServed);

    /// <summary>Requests to /hang the upstream is still holding open.</summary>
    public int Hanging => Volatile.Read(ref _hanging);

    /// <summary>Request headers seen by /trace, by the value of its "id" query parameter.</summary>
    public ConcurrentDictionary<string, string?> TraceParents { get; } = new();

    public string Url(string pathAndQuery) => new Uri(BaseAddress, pathAndQuery).ToString();

    public static async Task<TestUpstream> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var upstream = new TestUpstream(app);
        upstream.Map(app);
        await app.StartAsync();
        upstream.BaseAddress = new Uri(app.Urls.First());
        return upstream;
    }

    private void Map(WebApplication app)
    {
        app.MapGet("/json", () => Results.Json(new { ok = true, answer = "Paris" }));
        app.MapPost("/echo", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            return Results.Text(body, request.ContentType ?? "text/plain");
        });
        app.MapGet("/headers", (HttpRequest request) =>
            Results.Json(request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString())));
        app.MapGet("/sse", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers["X-Upstream-Header"] = "Yes";
            foreach (var word in new[] { "Paris ", "is ", "the ", "capital." })
            {
                await context.Response.WriteAsync($"data: {{\"content\":\"{word}\"}}\n\n");
                await context.Response.Body.FlushAsync();
                await Task.Delay(5);
            }

            await context.Response.WriteAsync("data: [DONE]\n\n");
        });
        app.MapGet("/status/{code:int}", (int code, HttpContext context) =>
        {
            if (code is 429 or 503)
            {
                context.Response.Headers.RetryAfter = "7";
            }

            return Results.Text($"status {code}", "text/plain", statusCode: code);
        });
        app.MapGet("/slow", async (int ms, HttpContext context) =>
        {
            var now = Interlocked.Increment(ref _slowInFlight);
            UpdatePeak(now);
            try
            {
                await Task.Delay(ms, context.RequestAborted);
                return Results.Text($"slept {ms}");
            }
            finally
            {
                Interlocked.Decrement(ref _slowInFlight);
            }
        });
        // An upstream that never answers: the request only ends when the caller gives up.
        app.MapGet("/hang", async (HttpContext context) =>
        {
            Interlocked.Increment(ref _hanging);
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                // The runtime cancelled the call, which is what the tests wait for.
            }
            finally
            {
                Interlocked.Decrement(ref _hanging);
            }
        });
        app.MapGet("/big", (int bytes) =>
        {
            Interlocked.Increment(ref _bigServed);
            return Results.Text(new string('a', bytes));
        });
        app.MapGet("/gzip", async (HttpContext context) =>
        {
            context.Response.Headers.ContentEncoding = "gzip";
            context.Response.ContentType = "text/plain";
            await using var gzip = new GZipStream(context.Response.Body, CompressionLevel.Fastest, leaveOpen: true);
            await gzip.WriteAsync(Encoding.UTF8.GetBytes("decompressed body"));
        });
        app.MapGet("/trace", (string id, HttpRequest request) =>
        {
            TraceParents[id] = request.Headers["traceparent"].FirstOrDefault();
            return Results.Text("traced");
        });
        app.MapGet("/redirect", () => Results.Redirect("/json"));
    }

    private void UpdatePeak(int now)
    {
        int peak;
        while (now > (peak = Volatile.Read(ref _slowPeak)) && Interlocked.CompareExchange(ref _slowPeak, now, peak) != peak)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
