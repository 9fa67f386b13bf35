namespace Worker.Simulator.Http;

/// <summary>
/// OpenAI puts an <c>x-request-id</c> on every answer (errors included) and the SDKs surface it; clients log it, so
/// the simulator sends one too.
/// </summary>
internal static class RequestIds
{
    public const string HeaderName = "x-request-id";

    /// <summary>Sets the header unless already set (the app-wide middleware and the endpoints both call this).</summary>
    public static void Ensure(HttpContext context)
    {
        var headers = context.Response.Headers;
        if (!context.Response.HasStarted && !headers.ContainsKey(HeaderName))
        {
            headers[HeaderName] = "req_" + Guid.NewGuid().ToString("N");
        }
    }
}
