using System.Runtime.InteropServices;

namespace Worker.Runtime.Server;

/// <summary>
/// The one libc call the BCL has no API for: giving the socket file to a group (there is no managed chown; mode bits go
/// through <see cref="File.SetUnixFileMode(string, UnixFileMode)"/>). Its arguments are plain integers and a path, so
/// no libc structure is read; group names are resolved by <see cref="GroupFile"/>.
/// </summary>
internal static partial class LibC
{
    /// <summary>"Leave unchanged" for chown's owner argument ((uid_t)-1).</summary>
    public const uint Unchanged = uint.MaxValue;

    [LibraryImport("libc", EntryPoint = "chown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Chown(string path, uint owner, uint group);
}
