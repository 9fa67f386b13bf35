using System.Net.Sockets;

namespace Worker.Runtime.Http;

/// <summary>
/// The text after "HTTP request failed: " for a transport failure (connection refused, DNS, reset, TLS...), built
/// from exception messages, which name the endpoint but never carry request headers.
/// </summary>
internal static class HttpFailureDescriber
{
    public const string Prefix = "HTTP request failed: ";

    public static string Describe(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var text = exception.Message;

        // "An error occurred while sending the request." says little; the inner socket/IO error says what happened.
        for (var inner = exception.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException or IOException && !text.Contains(inner.Message, StringComparison.Ordinal))
            {
                text = $"{text} ({inner.Message})";
                break;
            }
        }

        return Prefix + text;
    }
}
