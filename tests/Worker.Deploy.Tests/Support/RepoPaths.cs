namespace Worker.Deploy.Tests.Support;

/// <summary>Locates the repository root (the directory holding docker-compose.yml and Directory.Packages.props).</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> LazyRoot = new(FindRoot);

    public static string Root => LazyRoot.Value;

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    public static string Read(params string[] parts) => File.ReadAllText(Path(parts));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Directory.Packages.props"))
                && File.Exists(System.IO.Path.Combine(dir.FullName, "docker-compose.yml")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Repository root (docker-compose.yml + Directory.Packages.props) not found above {AppContext.BaseDirectory}.");
    }
}
