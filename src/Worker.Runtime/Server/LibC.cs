using System.Runtime.InteropServices;

namespace Worker.Runtime.Server;

/// <summary>The two libc calls .NET has no API for: giving the socket file to a group.</summary>
internal static partial class LibC
{
    /// <summary>"Leave unchanged" for chown's owner argument ((uid_t)-1).</summary>
    public const uint Unchanged = uint.MaxValue;

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chown(string path, uint owner, uint group);

    /// <summary>Returns a <c>struct group*</c> owned by libc (not thread-safe; called once at start), or null.</summary>
    [LibraryImport("libc", EntryPoint = "getgrnam", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial IntPtr GetGroupByName(string name);

    /// <summary>
    /// gr_gid of a <c>struct group</c>: it follows two pointers (gr_name, gr_passwd) in glibc, musl and macOS alike.
    /// </summary>
    public static uint ReadGroupId(IntPtr group) => (uint)Marshal.ReadInt32(group, 2 * IntPtr.Size);
}
