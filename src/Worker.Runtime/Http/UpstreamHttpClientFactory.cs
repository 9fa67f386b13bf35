using System.Net;
using System.Text;
using Worker.Runtime.Configuration;

namespace Worker.Runtime.Http;

/// <summary>
/// The one HttpClient the runtime calls upstreams with. Decisions, and why:
/// connections are pooled and recycled after <c>PooledConnectionLifetime</c> (DNS changes are picked up);
/// HTTP/2 is used where TLS negotiates it, HTTP/1.1 otherwise; bodies are decompressed (all encodings);
/// no cookies (requests of different tenants must not share state); redirects are NOT followed, because the 3xx
/// goes back to the client unchanged and following it could lead past <c>Runtime:AllowedHosts</c>;
/// no client-wide timeout, since every request carries its own deadline.
/// </summary>
internal static class UpstreamHttpClientFactory
{
    public static HttpClient Create(RuntimeServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var handler = new SocketsHttpHandler
        {
            PooledConnectionLifetime = options.PooledConnectionLifetime,
            AutomaticDecompression = DecompressionMethods.All,
            UseCookies = false,
            AllowAutoRedirect = false,
            EnableMultipleHttp2Connections = true,

            // Header values the SDKs send are strings; UTF-8 keeps non-ASCII ones instead of failing the request.
            RequestHeaderEncodingSelector = static (_, _) => Encoding.UTF8,
            ResponseHeaderEncodingSelector = static (_, _) => Encoding.UTF8,
        };
        return new HttpClient(handler, disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
    }
}
