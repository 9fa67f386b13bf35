using System.Buffers;
using Worker.Simulator.Http;

namespace Worker.Simulator.Endpoints;

/// <summary><c>GET /health</c>: <c>{"status":"ok"}</c> whenever the server is up (never faulted, never authenticated).</summary>
internal static class HealthEndpoint
{
    private static ReadOnlySpan<byte> Body => "{\"status\":\"ok\"}"u8;

    public static Task GetAsync(HttpContext context)
    {
        context.Response.ContentType = ContentTypes.Json;
        context.Response.BodyWriter.Write(Body);
        context.Response.ContentLength = Body.Length;
        return Task.CompletedTask;
    }
}
