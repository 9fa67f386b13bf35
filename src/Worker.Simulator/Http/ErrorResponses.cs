using Worker.Simulator.Json;

namespace Worker.Simulator.Http;

/// <summary>
/// Sends an <see cref="ApiError"/> as the whole HTTP answer. The body is only buffered in the response pipe: Kestrel
/// sends it when the handler returns, and the Content-Length can still be set after writing.
/// </summary>
internal static class ErrorResponses
{
    public static void Write(HttpContext context, ApiError error, ErrorDialect dialect, int? statusCode = null)
    {
        var response = context.Response;
        response.StatusCode = statusCode ?? error.StatusCode;
        response.ContentType = ContentTypes.Json;
        using var json = JsonWriterFactory.Create(response.BodyWriter);
        ErrorJson.Write(json, error, dialect);
        json.Flush();
        response.ContentLength = json.BytesCommitted;
    }
}
