using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Worker.Testing;

/// <summary>Picks a host port for a fixed container port binding (or a test HTTP listener).</summary>
public static class FreeTcpPort
{
    // Below Linux' ephemeral range (32768-60999) so outgoing connections do not take the port
    // while the broker is stopped; above the usual service ports.
    private const int Lowest = 20000;
    private const int HighestExclusive = 32000;

    /// <summary>A port in [20000, 32000) nothing listens on right now, chosen at random.</summary>
    public static int Pick()
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var port = RandomNumberGenerator.GetInt32(Lowest, HighestExclusive);
            if (IsFree(port))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"No free TCP port found in [{Lowest}, {HighestExclusive}).");
    }

    private static bool IsFree(int port)
    {
        var listener = new TcpListener(IPAddress.Any, port);
        try
        {
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        finally
        {
            listener.Stop();
        }
    }
}
