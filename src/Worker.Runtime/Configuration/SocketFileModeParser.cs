namespace Worker.Runtime.Configuration;

/// <summary>Parses an octal permission string such as <c>0660</c> (always octal, with or without the leading 0).</summary>
internal static class SocketFileModeParser
{
    public static bool TryParse(string? text, out UnixFileMode mode, out string error)
    {
        mode = default;
        error = string.Empty;
        var digits = text?.Trim() ?? string.Empty;
        if (digits.Length is 0 or > 4 || digits.Any(c => c is < '0' or > '7'))
        {
            error = $"must be octal permissions such as 0660 (got '{text}').";
            return false;
        }

        var value = 0;
        foreach (var c in digits)
        {
            value = (value * 8) + (c - '0');
        }

        // Only permission bits: setuid/setgid/sticky mean nothing on a socket.
        if (value > 0x1FF)
        {
            error = $"must be permission bits only, at most 0777 (got '{text}').";
            return false;
        }

        mode = (UnixFileMode)value;
        return true;
    }
}
