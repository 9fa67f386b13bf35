using System.Globalization;

namespace Worker.Runtime.Http;

/// <summary>
/// The hosts the <c>http</c> connector may call, so the runtime cannot be used as an open proxy. Entries are
/// <c>host</c> (any port), <c>host:port</c>, <c>[v6]:port</c> or <c>*.domain</c> (any subdomain); one configured value
/// may hold several, comma-separated (handy in environment variables). No entries allows every host.
/// </summary>
internal sealed class HostAllowlist
{
    private readonly Entry[] _entries;

    private HostAllowlist(Entry[] entries)
    {
        _entries = entries;
    }

    public bool AllowsAnyHost => _entries.Length == 0;

    /// <summary>Builds the list; the values must have passed <see cref="TryParseEntries"/>.</summary>
    public static HostAllowlist Create(IEnumerable<string> configured)
    {
        ArgumentNullException.ThrowIfNull(configured);
        var entries = new List<Entry>();
        foreach (var value in configured)
        {
            foreach (var part in Split(value))
            {
                entries.Add(Parse(part) ?? throw new ArgumentException($"Invalid allowed host '{part}'.", nameof(configured)));
            }
        }

        return new HostAllowlist([.. entries]);
    }

    public static bool TryParseEntries(string? value, out string error)
    {
        var parts = Split(value);
        if (parts.Length == 0)
        {
            error = "must not be empty.";
            return false;
        }

        foreach (var part in parts)
        {
            if (Parse(part) is null)
            {
                error = $"'{part}' must be a host name, host:port or *.domain (no scheme or path).";
                return false;
            }
        }

        error = string.Empty;
        return true;
    }

    public bool IsAllowed(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (AllowsAnyHost)
        {
            return true;
        }

        var host = Normalize(uri.IdnHost);
        foreach (var entry in _entries)
        {
            if (entry.Port is { } port && port != uri.Port)
            {
                continue;
            }

            var matches = entry.Wildcard
                ? host.EndsWith(entry.Host, StringComparison.Ordinal) && host.Length > entry.Host.Length
                : host == entry.Host;
            if (matches)
            {
                return true;
            }
        }

        return false;
    }

    private static string[] Split(string? value) =>
        (value ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private static Entry? Parse(string text)
    {
        if (text.Contains('/', StringComparison.Ordinal) || text.Contains('@', StringComparison.Ordinal) || text.Any(char.IsWhiteSpace))
        {
            return null;
        }

        string host;
        int? port = null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                return null;
            }

            host = text[1..close];
            var rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                if (!rest.StartsWith(':') || ParsePort(rest[1..]) is not { } p6)
                {
                    return null;
                }

                port = p6;
            }
        }
        else if (text.Count(c => c == ':') == 1)
        {
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            host = text[..colon];
            if (ParsePort(text[(colon + 1)..]) is not { } p)
            {
                return null;
            }

            port = p;
        }
        else
        {
            host = text;
        }

        var wildcard = host.StartsWith("*.", StringComparison.Ordinal);
        host = Normalize(wildcard ? host[1..] : host);
        if (host.Length == 0 || host == "." || host.Contains('*', StringComparison.Ordinal))
        {
            return null;
        }

        return new Entry(host, port, wildcard);
    }

    private static int? ParsePort(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536 ? port : null;

    // Host names compare case-insensitively and without a trailing root dot; IPv6 literals without brackets.
    private static string Normalize(string host) => host.Trim('[', ']').TrimEnd('.').ToLowerInvariant();

    /// <summary>For a wildcard entry <see cref="Host"/> keeps the leading dot (".example.com").</summary>
    private sealed record Entry(string Host, int? Port, bool Wildcard);
}
