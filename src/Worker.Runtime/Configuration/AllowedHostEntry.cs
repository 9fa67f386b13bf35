using System.Globalization;

namespace Worker.Runtime.Configuration;

/// <summary>Builds <c>Runtime:AllowedHosts</c> entries from URLs.</summary>
public static class AllowedHostEntry
{
    /// <summary>
    /// The entry that allows exactly <paramref name="endpoint"/>'s host and port: always <c>host:port</c>, with the
    /// scheme's default port when the URL names none. A bare <c>host</c> entry means any port of that host (that is
    /// what an operator writing one asks for); an automatic entry must not widen a URL to every port.
    /// </summary>
    public static string For(Uri endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (!endpoint.IsAbsoluteUri || endpoint.Port < 0)
        {
            throw new ArgumentException($"'{endpoint}' is not an absolute URL with a known port.", nameof(endpoint));
        }

        // Uri.Host keeps the brackets of an IPv6 literal, which is the form the allowlist expects before a port.
        return string.Create(CultureInfo.InvariantCulture, $"{endpoint.Host}:{endpoint.Port}");
    }
}
