namespace Worker.Deploy.Tests.Support;

/// <summary>
/// The output of <c>docker-compose config</c> (the resolved file, block-style YAML with two-space indents), read
/// by line scanning: enough for service names, their top-level keys and the nested blocks under them.
/// </summary>
internal sealed class ComposeConfig
{
    private ComposeConfig(IReadOnlyDictionary<string, ComposeService> services)
    {
        Services = services;
    }

    public IReadOnlyDictionary<string, ComposeService> Services { get; }

    public ComposeService this[string name] =>
        Services.TryGetValue(name, out var service) ? service : throw new KeyNotFoundException($"service '{name}' is not in the compose configuration");

    public static ComposeConfig Parse(string yaml)
    {
        var lines = yaml.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var services = new Dictionary<string, ComposeService>(StringComparer.Ordinal);
        var inServices = false;
        string? current = null;
        var block = new List<string>();

        void Flush()
        {
            if (current is not null)
            {
                services[current] = new ComposeService(current, block.ToArray());
            }

            current = null;
            block.Clear();
        }

        foreach (var line in lines)
        {
            if (line.Length == 0)
            {
                continue;
            }

            var indent = line.Length - line.TrimStart(' ').Length;
            if (indent == 0)
            {
                Flush();
                inServices = line.TrimEnd() == "services:";
                continue;
            }

            if (!inServices)
            {
                continue;
            }

            if (indent == 2 && line.TrimEnd().EndsWith(':'))
            {
                Flush();
                current = line.Trim().TrimEnd(':');
                continue;
            }

            if (current is not null)
            {
                block.Add(line.Length >= 4 ? line[4..] : line.TrimStart());
            }
        }

        Flush();
        return new ComposeConfig(services);
    }
}

/// <summary>One service: its lines with the service indentation removed (top-level keys at column 0).</summary>
internal sealed class ComposeService(string name, string[] lines)
{
    public string Name { get; } = name;

    public IReadOnlyList<string> Lines { get; } = lines;

    public IEnumerable<string> Keys => Lines.Where(l => l.Length > 0 && l[0] != ' ' && l[0] != '-' && l.Contains(':', StringComparison.Ordinal))
        .Select(l => l[..l.IndexOf(':', StringComparison.Ordinal)]);

    public bool Has(string key) => Keys.Contains(key, StringComparer.Ordinal);

    /// <summary>The value on the key's line (<c>key: value</c>), unquoted; null when absent or a nested block.</summary>
    public string? Scalar(string key)
    {
        var line = Lines.FirstOrDefault(l => l.StartsWith(key + ":", StringComparison.Ordinal));
        if (line is null)
        {
            return null;
        }

        var value = line[(key.Length + 1)..].Trim();
        return value.Length == 0 ? null : Unquote(value);
    }

    /// <summary>The lines nested under a top-level key, with two spaces of indentation removed.</summary>
    public IReadOnlyList<string> Block(string key)
    {
        var result = new List<string>();
        var inside = false;
        foreach (var line in Lines)
        {
            if (line.Length > 0 && line[0] != ' ' && line[0] != '-')
            {
                inside = line.StartsWith(key + ":", StringComparison.Ordinal);
                continue;
            }

            if (inside)
            {
                result.Add(line.StartsWith("  ", StringComparison.Ordinal) ? line[2..] : line);
            }
        }

        return result;
    }

    /// <summary><c>name: value</c> pairs directly under a top-level key (environment, build, healthcheck...).</summary>
    public IReadOnlyDictionary<string, string> Map(string key)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in Block(key))
        {
            if (line.Length == 0 || line[0] == ' ' || line[0] == '-')
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                map[line[..colon]] = Unquote(line[(colon + 1)..].Trim());
            }
        }

        return map;
    }

    private static string Unquote(string value) =>
        value.Length >= 2 && (value[0] == '\'' || value[0] == '"') && value[^1] == value[0] ? value[1..^1] : value;
}
