using Worker.Connector.Client;

namespace Worker.Connector.Http;

/// <summary>HTTP over the runtime's <c>http</c>/<c>request</c> operation.</summary>
public static class RuntimeHttpExtensions
{
    /// <summary>
    /// Sends <paramref name="request"/> through the runtime. Any upstream status comes back as a response (classify
    /// with <see cref="HttpResponse.EnsureSuccess"/>); runtime failures (unreachable host, timeout, invalid
    /// request) throw <see cref="ConnectorException"/>.
    /// </summary>
    public static async Task<HttpResponse> SendHttpAsync(this RuntimeClient client, HttpRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(request);
        var payload = request.BodyUtf8 is { } utf8
            ? HttpPayloadSerializer.SerializeRequest(request.Method, request.Url, request.Headers, utf8.Span)
            : HttpPayloadSerializer.Serialize(new HttpRequestPayload
            {
                Method = request.Method,
                Url = request.Url,
                Headers = request.Headers.Count == 0 ? null : new Dictionary<string, string>(request.Headers),
                Body = request.Body,
            });
        var call = new RuntimeCallOptions
        {
            Timeout = request.Timeout,
            TenantId = request.TenantId,
            WorkspaceId = request.WorkspaceId,
            TraceId = request.TraceId,
        };
        var response = await client.ExecuteAsync(HttpPayloadSerializer.ConnectorName, HttpPayloadSerializer.OperationName, payload, call, cancellationToken);
        try
        {
            return HttpResponsePayloadReader.Read(response.Payload.Span, response.RequestId,
                TimeSpan.FromTicks((long)Math.Min(response.DurationUs * 10, long.MaxValue / 2)));
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException)
        {
            throw new ConnectorException(ErrorClass.Permanent, $"The runtime's answer to request {response.RequestId} is not an HTTP response payload: {ex.Message}", ex)
            {
                RequestId = response.RequestId,
            };
        }
    }
}
