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
        var payload = HttpPayloadSerializer.Serialize(new HttpRequestPayload
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
        HttpResponsePayload decoded;
        try
        {
            decoded = HttpPayloadSerializer.DeserializeResponse(response.Payload.Span);
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new ConnectorException(ErrorClass.Permanent, $"The runtime's answer to request {response.RequestId} is not an HTTP response payload: {ex.Message}", ex)
            {
                RequestId = response.RequestId,
            };
        }

        return new HttpResponse
        {
            StatusCode = decoded.StatusCode,
            Headers = ToCaseInsensitive(decoded.Headers),
            Body = decoded.Body ?? "",
            IsStreaming = decoded.IsStreaming,
            Duration = TimeSpan.FromTicks((long)Math.Min(response.DurationUs * 10, long.MaxValue / 2)),
            RequestId = response.RequestId,
        };
    }

    // Indexer assignment: a peer that sends the same name twice in different case must not make this throw.
    private static Dictionary<string, string> ToCaseInsensitive(Dictionary<string, string>? headers)
    {
        var result = new Dictionary<string, string>(headers?.Count ?? 0, StringComparer.OrdinalIgnoreCase);
        if (headers is not null)
        {
            foreach (var (name, value) in headers)
            {
                result[name] = value;
            }
        }

        return result;
    }
}
