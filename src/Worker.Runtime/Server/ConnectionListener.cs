using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Worker.Runtime.Diagnostics;

namespace Worker.Runtime.Server;

/// <summary>A listening socket and its accept loop.</summary>
internal sealed class ConnectionListener : IDisposable
{
    // Running out of file descriptors is temporary; retrying at once would spin.
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(100);

    private readonly Socket _socket;
    private readonly ILogger _logger;

    public ConnectionListener(Socket socket, string name, ILogger logger)
    {
        _socket = socket;
        Name = name;
        _logger = logger;
    }

    /// <summary>"unix" or "tcp", for logs.</summary>
    public string Name { get; }

    public async Task AcceptLoopAsync(Action<Socket, ConnectionListener> accepted, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _socket.AcceptAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
            {
                continue;
            }
            catch (SocketException ex)
            {
                RuntimeLog.AcceptFailed(_logger, Name, ex);
                try
                {
                    await Task.Delay(RetryDelay, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            accepted(client, this);
        }
    }

    public void Dispose() => _socket.Dispose();
}
