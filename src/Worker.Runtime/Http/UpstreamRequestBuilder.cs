using System.Collections.Frozen;
using System.Net;
using System.Text;
using System.Text.Json;
using Worker.Connector.Http;
using Worker.Runtime.Diagnostics;

namespace Worker.Runtime.Http;

/// <summary>
/// Turns an <c>http</c>/<c>request</c> payload into an <see cref="HttpRequestMessage"/>, or into the reason it is an
/// invalid request: JSON that does not parse, a missing or unsupported method, a URL that is not absolute http(s),
/// a host outside the allowlist, a malformed header.
/// </summary>
internal static class UpstreamRequestBuilder
{
    public static readonly FrozenSet<string> SupportedMethods =
        FrozenSet.Create(StringComparer.Ordinal, "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS");

    // Dropped, silently (SDKs forward whatever headers they were given, so refusing would break honest callers):
    // framing and connection management belong to this hop, and the handler sets them from the body and the pool;
    // Host must be the URL's host, since the runtime connects there and the allowlist checked that host (HttpClient
    // would otherwise send the caller's Host, and take TLS SNI from it too); Proxy-* (matched by prefix) is for
    // proxies this runtime does not use.
    private static readonly FrozenSet<string> HopHeaders = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        "Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "TE", "Trailer");

    private const string ProxyHeaderPrefix = "Proxy-";

    public static bool TryBuild(ReadOnlyMemory<byte> payload, HostAllowlist allowlist, out UpstreamCall? call, out string error)
    {
        call = null;
        HttpRequestPayload parsed;
        try
        {
            parsed = HttpPayloadSerializer.DeserializeRequest(payload.Span);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            error = $"The http/request payload is not valid JSON of the form {{\"method\", \"url\", \"headers\", \"body\"}}: {LogText.Clip(ex.Message, 300)}";
            return false;
        }

        if (string.IsNullOrWhiteSpace(parsed.Method))
        {
            error = "The http/request payload has no \"method\".";
            return false;
        }

        var method = parsed.Method.Trim().ToUpperInvariant();
        if (!SupportedMethods.Contains(method))
        {
            error = $"Unsupported HTTP method '{LogText.Clip(parsed.Method, 40)}' (supported: {string.Join(", ", SupportedMethods.Order(StringComparer.Ordinal))}).";
            return false;
        }

        if (string.IsNullOrWhiteSpace(parsed.Url))
        {
            error = "The http/request payload has no \"url\".";
            return false;
        }

        if (!Uri.TryCreate(parsed.Url.Trim(), UriKind.Absolute, out var uri))
        {
            error = $"Invalid URL '{LogText.Clip(StripQuery(parsed.Url), 200)}': not an absolute http(s) URL.";
            return false;
        }

        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
        {
            error = $"Unsupported URL scheme '{uri.Scheme}' (only http and https).";
            return false;
        }

        if (string.IsNullOrEmpty(uri.Host))
        {
            error = $"Invalid URL '{LogText.Clip(StripQuery(parsed.Url), 200)}': it has no host.";
            return false;
        }

        if (!allowlist.IsAllowed(uri))
        {
            error = $"Host '{uri.Authority}' is not allowed (Runtime:AllowedHosts).";
            return false;
        }

        var request = new HttpRequestMessage(new HttpMethod(method), uri)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        if (parsed.Body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(parsed.Body));
        }

        if (parsed.Headers is not null && !TryAddHeaders(request, parsed.Headers, out error))
        {
            request.Dispose();
            return false;
        }

        call = new UpstreamCall(request, method, SafeUrl(uri));
        error = string.Empty;
        return true;
    }

    /// <summary>Scheme, host, port and path only: query strings may carry API keys.</summary>
    public static string SafeUrl(Uri uri) =>
        uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);

    private static bool TryAddHeaders(HttpRequestMessage request, Dictionary<string, string> headers, out string error)
    {
        foreach (var (name, value) in headers)
        {
            if (!IsToken(name))
            {
                error = $"Invalid header name '{LogText.Clip(name, 60)}'.";
                return false;
            }

            // The value is never echoed: it may be a credential.
            if (value is null || value.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0)
            {
                error = $"Header '{name}' has a missing value or one with a line break or NUL.";
                return false;
            }

            if (HopHeaders.Contains(name) || name.StartsWith(ProxyHeaderPrefix, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            // Content headers (Content-Type...) live on the body; without a body they have nothing to describe.
            if (!request.Headers.TryAddWithoutValidation(name, value))
            {
                request.Content?.Headers.TryAddWithoutValidation(name, value);
            }
        }

        error = string.Empty;
        return true;
    }

    /// <summary>RFC 9110 token: the characters a header name may have.</summary>
    private static bool IsToken(string name)
    {
        if (name.Length == 0)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (c > 0x7E || c <= 0x20 || "\"(),/:;<=>?@[\\]{}".Contains(c, StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private static string StripQuery(string url)
    {
        var query = url.IndexOfAny(['?', '#']);
        return query < 0 ? url : url[..query];
    }
}
