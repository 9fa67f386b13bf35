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
        var response = await client.ExecuteAsync(HttpPayloadSerializer.ConnectorName, HttpPayloadSerializer.OperationName, Payload(request), Call(request), cancellationToken);
        return ReadWhole(response);
    }

    /// <summary>
    /// Sends <paramref name="request"/> asking for a streamed answer: returns at the head, with the body to read as it
    /// arrives, holding at most <paramref name="window"/> unread bytes (null: <see cref="Protocol.StreamProtocol.DefaultWindow"/>).
    /// A runtime that does not stream answers whole, and the result looks the same (one chunk). Runtime
    /// failures throw <see cref="ConnectorException"/> here or while the body is read; cancelling
    /// <paramref name="cancellationToken"/> (or disposing the result early) cancels the request at the runtime.
    /// </summary>
    public static async Task<HttpResponseStream> StreamHttpAsync(
        this RuntimeClient client, HttpRequest request, int? window = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(request);
        var call = Call(request) with { StreamWindow = window };
        var stream = await client.ExecuteStreamAsync(HttpPayloadSerializer.ConnectorName, HttpPayloadSerializer.OperationName, Payload(request), call, cancellationToken);
        try
        {
            if (stream.Head is { } head)
            {
                var headers = new Dictionary<string, string>(head.Headers.Count, StringComparer.OrdinalIgnoreCase);
                foreach (var (name, value) in head.Headers)
                {
                    headers[name] = value;
                }

                return new HttpResponseStream(stream, head.StatusCode, headers, whole: null);
            }

            var whole = ReadWhole(stream.Response!);
            return new HttpResponseStream(stream, whole.StatusCode, whole.Headers, whole);
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    private static ReadOnlyMemory<byte> Payload(HttpRequest request) =>
        request.BodyUtf8 is { } utf8
            ? HttpPayloadSerializer.SerializeRequest(request.Method, request.Url, request.Headers, utf8.Span)
            : HttpPayloadSerializer.Serialize(new HttpRequestPayload
            {
                Method = request.Method,
                Url = request.Url,
                Headers = request.Headers.Count == 0 ? null : new Dictionary<string, string>(request.Headers),
                Body = request.Body,
            });

    private static RuntimeCallOptions Call(HttpRequest request) => new()
    {
        Timeout = request.Timeout,
        TenantId = request.TenantId,
        WorkspaceId = request.WorkspaceId,
        TraceId = request.TraceId,
    };

    private static HttpResponse ReadWhole(Protocol.ExecuteResponseMessage response)
    {
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
