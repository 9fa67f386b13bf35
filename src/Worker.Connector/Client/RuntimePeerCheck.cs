using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Worker.Connector.Client;

/// <summary>
/// Makes sure the process at the other end of the runtime's Unix socket is one we meant to talk to, before a request
/// (with its <c>Authorization</c> header) is sent: in a directory other users can write to (<c>/tmp</c>, the
/// original SDKs' default) another local user may have bound the socket path first. Linux only (SO_PEERCRED).
/// </summary>
/// <remarks>
/// Trusted: this process's effective user, root, <c>Runtime:AllowedPeerUids</c>, and the owner of the socket's
/// directory when only that owner can create files in it (no group or other write bit: the systemd
/// <c>RuntimeDirectory</c> of a runtime running as its own user). Before connecting, a socket file in a
/// world-writable directory must itself belong to a trusted user; after connecting, the peer's credentials must.
/// </remarks>
internal static partial class RuntimePeerCheck
{
    private const int SolSocket = 1;
    private const int SoPeerCred = 17;
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxMode = 0x2;
    private const uint StatxUid = 0x8;
    private const uint RootUid = 0;

    /// <summary>Before connecting: refuses a socket file another user owns in a world-writable directory.</summary>
    public static void CheckSocketFile(string path, RuntimeClientOptions options)
    {
        if (!options.VerifyPeer || !OperatingSystem.IsLinux() || Directory(path) is not { } directory)
        {
            return;
        }

        if ((File.GetUnixFileMode(directory) & UnixFileMode.OtherWrite) == 0 || Owner(path) is not { } owner)
        {
            return;
        }

        if (!IsTrusted(owner, options, directoryOwner: null))
        {
            throw Refused(string.Create(CultureInfo.InvariantCulture,
                $"Refusing the connector runtime socket {path}: the file belongs to uid {owner}, not to this process's user ({EffectiveUid()}) or root, and its directory {directory} is writable by every user, so anyone could have created it.")
                + " Use a socket in a directory only the runtime's user can write to (e.g. systemd RuntimeDirectory), or list that uid in Runtime:AllowedPeerUids.");
        }
    }

    /// <summary>After connecting, before anything is sent: refuses a peer running as an untrusted user.</summary>
    public static void CheckPeer(Socket socket, string path, RuntimeClientOptions options)
    {
        if (!options.VerifyPeer || !OperatingSystem.IsLinux())
        {
            return;
        }

        // struct ucred { pid_t pid; uid_t uid; gid_t gid; }: three 32-bit integers on every Linux architecture.
        Span<int> credentials = stackalloc int[3];
        var length = socket.GetRawSocketOption(SolSocket, SoPeerCred, MemoryMarshal.AsBytes(credentials));
        if (length < 12)
        {
            throw Refused($"Refusing the connector runtime socket {path}: the peer's credentials (SO_PEERCRED) could not be read.");
        }

        var pid = credentials[0];
        var uid = unchecked((uint)credentials[1]);
        var directory = Directory(path);
        var directoryOwner = directory is not null && (File.GetUnixFileMode(directory) & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) == 0
            ? Owner(directory)
            : null;
        if (!IsTrusted(uid, options, directoryOwner))
        {
            throw Refused(string.Create(CultureInfo.InvariantCulture,
                $"Refusing the connector runtime at {path}: the process serving it (pid {pid}) runs as uid {uid}, which is not this process's user ({EffectiveUid()}), root, the owner of its directory, nor in Runtime:AllowedPeerUids.")
                + " Another local user may have bound that path first; nothing was sent to it.");
        }
    }

    private static bool IsTrusted(uint uid, RuntimeClientOptions options, uint? directoryOwner) =>
        uid == RootUid || uid == EffectiveUid() || uid == directoryOwner || options.AllowedPeerUids.Contains(uid);

    private static string? Directory(string path) => Path.GetDirectoryName(Path.GetFullPath(path)) is { Length: > 0 } directory ? directory : null;

    private static ConnectorException Refused(string message) => new(ErrorClass.Transient, message) { RuntimeUnavailable = true };

    /// <summary>
    /// The owner of <paramref name="path"/> (not following a symlink), or null when it cannot be read. The BCL exposes a
    /// file's mode but not its owner; statx's result layout is the kernel's fixed, architecture-independent ABI.
    /// </summary>
    private static uint? Owner(string path)
    {
        try
        {
            var result = default(StatxHead);
            return Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxUid | StatxMode, ref result) == 0 && (result.Mask & StatxUid) != 0 ? result.Uid : null;
        }
        catch (EntryPointNotFoundException)
        {
            // A libc without statx (older musl): the check after connecting still applies.
            return null;
        }
    }

    private static uint EffectiveUid() => GetEffectiveUid();

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEffectiveUid();

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directoryFd, string path, int flags, uint mask, ref StatxHead result);

    /// <summary>The start of <c>struct statx</c> (linux/stat.h); the kernel writes all 256 bytes, so the size is reserved.</summary>
    [StructLayout(LayoutKind.Sequential, Size = 256)]
    private struct StatxHead
    {
        public uint Mask;
        public uint BlockSize;
        public ulong Attributes;
        public uint LinkCount;
        public uint Uid;
        public uint Gid;
        public ushort Mode;
    }
}
