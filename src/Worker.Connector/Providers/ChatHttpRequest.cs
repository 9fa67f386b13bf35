using Worker.Connector.Http;
using Worker.Connector.OpenAi;

namespace Worker.Connector.Providers;

/// <summary>
/// The runtime request every chat client sends: POST, JSON, the provider's fixed header (e.g. a version) if any,
/// <c>Accept: text/event-stream</c> when streamed, the caller's extra headers, and the API key last (so no extra header
/// can replace it; none when empty).
/// </summary>
internal static class ChatHttpRequest
{
    public static HttpRequest Create(
        ChatCompletionRequest request, string url, byte[] body, TimeSpan defaultTimeout, (string Name, string? Value) key, (string Name, string Value)? fixedHeader = null)
    {
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["Content-Type"] = "application/json" };
        if (fixedHeader is { } fixedValue)
        {
            headers[fixedValue.Name] = fixedValue.Value;
        }

        if (request.Stream)
        {
            headers["Accept"] = "text/event-stream";
        }

        if (request.ExtraHeaders is not null)
        {
            foreach (var (name, value) in request.ExtraHeaders)
            {
                headers[name] = value;
            }
        }

        if (!string.IsNullOrEmpty(key.Value))
        {
            headers[key.Name] = key.Value;
        }

        return new HttpRequest
        {
            Method = "POST",
            Url = url,
            Headers = headers,
            BodyUtf8 = body,
            Timeout = request.Timeout ?? defaultTimeout,
            TenantId = request.TenantId,
            WorkspaceId = request.WorkspaceId,
        };
    }
}
