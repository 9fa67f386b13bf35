using System.Globalization;

namespace Worker.Runtime.Server;

/// <summary>
/// Resolves a group name to its id from <c>/etc/group</c> (<c>name:password:gid:members</c>). Reading the file avoids
/// getgrnam, whose <c>struct group</c> would have to be read at a raw offset. Groups that only a directory service
/// knows (NSS: LDAP, SSSD) are not in the file: give their numeric id in <c>Runtime:SocketGroup</c>.
/// </summary>
internal static class GroupFile
{
    public const string DefaultPath = "/etc/group";

    public static bool TryGetId(string name, out uint gid, string path = DefaultPath)
    {
        gid = 0;
        if (!File.Exists(path))
        {
            return false;
        }

        foreach (var line in File.ReadLines(path))
        {
            var fields = line.Split(':');
            if (fields.Length >= 3 && string.Equals(fields[0], name, StringComparison.Ordinal)
                && uint.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out gid))
            {
                return true;
            }
        }

        return false;
    }
}
