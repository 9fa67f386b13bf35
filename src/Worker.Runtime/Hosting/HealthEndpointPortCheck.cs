using System.Net;
using Microsoft.Extensions.Options;

namespace Worker.Runtime.Hosting;

/// <summary>
/// Start-up check of a configured health URL (<c>Worker:HealthUrl</c>, <c>Runtime:HealthUrl</c>): the port must be
/// free and the address this machine's. Run when the endpoint is registered, like the URL's syntax check and before
/// anything is built or started, so a port in use stops start-up with one line naming the key (exit code 78, like
/// any configuration error) instead of a "Hosting failed to start" stack trace after the socket, the broker
/// connection or (in the worker) the Prometheus listener on the same port were already opened.
/// </summary>
public static class HealthEndpointPortCheck
{
    /// <summary>Throws <see cref="OptionsValidationException"/> naming the key when <paramref name="address"/> cannot be listened on now.</summary>
    public static void EnsureAvailable(HealthEndpointAddress address)
    {
        if (Probe(address) is { } error)
        {
            throw new OptionsValidationException(address.Key, typeof(HealthEndpointAddress), [error]);
        }
    }

    /// <summary>Null when <paramref name="address"/> can be listened on now, else why not (naming the key).</summary>
    public static string? Probe(HealthEndpointAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);

        // The same listener the endpoint uses, started and closed at once: it fails exactly as the real one would
        // (address in use, address not on this machine, a privileged port). The real one binds moments later; a
        // port taken in between still stops the host, only less politely.
        using var probe = new HttpListener();
        probe.Prefixes.Add(address.Prefix);
        try
        {
            probe.Start();
            probe.Stop();
            return null;
        }
        catch (HttpListenerException ex)
        {
            return $"{address.Key}: cannot listen on {address.Url}: {ex.Message}.";
        }
    }
}
