using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Worker.Runtime.Configuration;
using Worker.Runtime.Diagnostics;

namespace Worker.Runtime.Server;

/// <summary>The socket file: clearing a stale one before binding, refusing a live one, permissions and group after.</summary>
internal static class UnixSocketFile
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Makes <paramref name="path"/> free to bind: a socket file nobody answers on is left over from a crashed
    /// runtime and is removed; one that answers belongs to a live runtime, and starting a second one is refused.
    /// </summary>
    public static async Task ClaimAsync(string path, ILogger logger, CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null && !Directory.Exists(directory))
        {
            throw new InvalidOperationException($"Cannot listen on {path}: directory {directory} does not exist (Runtime:SocketPath / VASTAR_SOCKET_PATH).");
        }

        if (Directory.Exists(path))
        {
            throw new InvalidOperationException($"Cannot listen on {path}: it is a directory (Runtime:SocketPath / VASTAR_SOCKET_PATH).");
        }

        if (!File.Exists(path))
        {
            return;
        }

        // A socket file has no size; anything with content is somebody's file, not a stale socket.
        if (new FileInfo(path).Length > 0)
        {
            throw new InvalidOperationException($"Cannot listen on {path}: a regular file is in the way (Runtime:SocketPath / VASTAR_SOCKET_PATH).");
        }

        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ProbeTimeout);
            try
            {
                await probe.ConnectAsync(new UnixDomainSocketEndPoint(path), timeout.Token);
                throw AlreadyRunning(path, "it accepted a connection");
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // A runtime too busy to accept within the probe time is still a live runtime.
                throw AlreadyRunning(path, $"a connection attempt was still pending after {ProbeTimeout.TotalSeconds:0} s");
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionRefused or SocketError.AddressNotAvailable)
            {
                // Nothing listens: stale.
            }
        }

        File.Delete(path);
        RuntimeLog.RemovedStaleSocket(logger, path);
    }

    /// <summary>Applies the configured mode (and group) to the freshly bound socket file, before it listens.</summary>
    public static void Secure(string path, RuntimeServerOptions options)
    {
        if (!SocketFileModeParser.TryParse(options.SocketFileMode, out var mode, out var error))
        {
            throw new InvalidOperationException($"Runtime:SocketFileMode {error}");
        }

        if (OperatingSystem.IsWindows())
        {
            // Windows has AF_UNIX but no Unix permissions; the directory's ACL is what protects the socket there.
            return;
        }

        File.SetUnixFileMode(path, mode);
        if (string.IsNullOrEmpty(options.SocketGroup))
        {
            return;
        }

        var gid = ResolveGroup(options.SocketGroup);
        if (LibC.Chown(path, LibC.Unchanged, gid) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new InvalidOperationException(
                $"Runtime:SocketGroup: cannot give {path} to group '{options.SocketGroup}' ({Marshal.GetPInvokeErrorMessage(errno)}); the runtime's user must be a member of that group.");
        }
    }

    public static void Remove(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort on the way out.
        }
        catch (UnauthorizedAccessException)
        {
            // Best effort on the way out.
        }
    }

    public static string Describe(RuntimeServerOptions options) =>
        string.IsNullOrEmpty(options.SocketGroup) ? "unchanged" : options.SocketGroup;

    private static uint ResolveGroup(string group)
    {
        if (uint.TryParse(group, NumberStyles.None, CultureInfo.InvariantCulture, out var gid))
        {
            return gid;
        }

        return GroupFile.TryGetId(group, out var id)
            ? id
            : throw new InvalidOperationException(
                $"Runtime:SocketGroup '{group}' is not in {GroupFile.DefaultPath}; give the group's numeric id (e.g. from `getent group {group}`) instead.");
    }

    private static InvalidOperationException AlreadyRunning(string path, string evidence) =>
        new($"Another connector runtime is already listening on {path} ({evidence}). Stop it first, or give this one another "
            + "path (Runtime:SocketPath, VASTAR_SOCKET_PATH or --socket).");
}
