using System.Text.RegularExpressions;
using System.Xml.Linq;
using Worker.Deploy.Tests.Support;

namespace Worker.Deploy.Tests;

/// <summary>The multi-stage Dockerfiles in deploy/docker (static checks; building needs the registry).</summary>
public sealed class DockerfileTests
{
    public static TheoryData<string, string, string> Images => new()
    {
        { "worker.Dockerfile", "Worker.Host", "mcr.microsoft.com/dotnet/runtime:10.0" },
        { "runtime.Dockerfile", "Worker.Runtime", "mcr.microsoft.com/dotnet/runtime:10.0" },
        { "simulator.Dockerfile", "Worker.Simulator", "mcr.microsoft.com/dotnet/aspnet:10.0" },
    };

    [Theory]
    [MemberData(nameof(Images))]
    public void Builds_in_the_sdk_image_and_runs_in_the_runtime_image_as_the_app_user(string file, string project, string runImage)
    {
        var lines = Instructions(file);

        Assert.Contains("ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0", lines);
        Assert.Contains(lines, l => l.StartsWith("ARG ", StringComparison.Ordinal) && l.EndsWith("=" + runImage, StringComparison.Ordinal));
        var froms = lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, froms.Count);
        Assert.Equal("FROM ${SDK_IMAGE} AS build", froms[0]);
        Assert.Contains(lines, l => l.StartsWith("COPY --from=build ", StringComparison.Ordinal));
        Assert.Equal("USER $APP_UID", lines.Last(l => l.StartsWith("USER ", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.StartsWith("HEALTHCHECK ", StringComparison.Ordinal) && l.Contains(" CMD ", StringComparison.Ordinal));
        Assert.Contains($"ENTRYPOINT [\"dotnet\", \"{project}.dll\"]", lines);
        Assert.Contains(lines, l => l.StartsWith("RUN dotnet publish ", StringComparison.Ordinal) && l.Contains($"src/{project}/{project}.csproj", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("ENV ", StringComparison.Ordinal) && l.Contains("DOTNET_EnableDiagnostics=0", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Restores_from_project_files_only_so_the_layer_stays_cached(string file, string project, string runImage)
    {
        _ = runImage;
        var lines = Instructions(file);
        var restore = lines.FindIndex(l => l.StartsWith("RUN dotnet restore ", StringComparison.Ordinal));
        var sources = lines.FindIndex(l => l == "COPY src/ src/");

        Assert.True(restore > 0, "no RUN dotnet restore");
        Assert.True(sources > restore, "the sources must be copied after the restore");
        var beforeRestore = lines.Take(restore).Where(l => l.StartsWith("COPY ", StringComparison.Ordinal)).ToList();
        foreach (var copy in beforeRestore)
        {
            foreach (var source in CopySources(copy))
            {
                Assert.True(source.EndsWith(".csproj", StringComparison.Ordinal) || !source.Contains('/', StringComparison.Ordinal),
                    $"{file}: '{copy}' copies more than project/props files before the restore");
            }
        }

        foreach (var needed in new[] { "global.json", "Directory.Build.props", "Directory.Packages.props" })
        {
            Assert.Contains(beforeRestore, l => CopySources(l).Contains(needed));
        }

        // Every project in the restore closure must be present before the restore.
        foreach (var csproj in ProjectClosure($"src/{project}/{project}.csproj"))
        {
            Assert.Contains(beforeRestore, l => CopySources(l).Contains(csproj));
        }
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Copies_only_files_that_exist_and_are_in_the_build_context(string file, string project, string runImage)
    {
        _ = (project, runImage);
        var ignored = RepoPaths.Read(".dockerignore").Split('\n').Select(l => l.Trim())
            .Where(l => l.Length > 0 && l[0] != '#' && !l.Contains('*', StringComparison.Ordinal)).ToList();

        foreach (var copy in Instructions(file).Where(l => l.StartsWith("COPY ", StringComparison.Ordinal) && !l.Contains("--from=", StringComparison.Ordinal)))
        {
            foreach (var source in CopySources(copy))
            {
                var path = RepoPaths.Path(source.TrimEnd('/'));
                Assert.True(File.Exists(path) || Directory.Exists(path), $"{file}: {source} does not exist");
                Assert.DoesNotContain(ignored, pattern => source.TrimEnd('/') == pattern.TrimEnd('/') || source.StartsWith(pattern.TrimEnd('/') + "/", StringComparison.Ordinal));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Builds_with_the_classic_builder_and_no_frontend_image(string file, string project, string runImage)
    {
        _ = (project, runImage);
        var text = RepoPaths.Read("deploy", "docker", file);
        var instructions = string.Join('\n', Instructions(file));

        Assert.DoesNotMatch(new Regex(@"(?im)^#\s*syntax\s*="), text);
        Assert.DoesNotContain("--mount", instructions, StringComparison.Ordinal);
        Assert.DoesNotContain("--chmod", instructions, StringComparison.Ordinal);
        Assert.DoesNotContain("<<", instructions, StringComparison.Ordinal);
    }

    /// <summary>Instructions with line continuations joined and comments dropped.</summary>
    private static List<string> Instructions(string file)
    {
        var result = new List<string>();
        var current = string.Empty;
        foreach (var raw in RepoPaths.Read("deploy", "docker", file).Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || (line.Length == 0 && current.Length == 0))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                current += line[..^1].Trim() + " ";
                continue;
            }

            current += line;
            if (current.Length > 0)
            {
                result.Add(Regex.Replace(current, @"\s+", " ").Trim());
            }

            current = string.Empty;
        }

        return result;
    }

    private static List<string> CopySources(string copy)
    {
        var words = copy.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToList();
        return words.Take(words.Count - 1).ToList();
    }

    private static HashSet<string> ProjectClosure(string csproj)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([csproj]);
        while (pending.TryPop(out var current))
        {
            if (!result.Add(current))
            {
                continue;
            }

            var directory = Path.GetDirectoryName(current)!;
            foreach (var reference in XDocument.Load(RepoPaths.Path(current)).Descendants("ProjectReference"))
            {
                var include = reference.Attribute("Include")!.Value.Replace('\\', '/');
                var full = Path.GetFullPath(Path.Combine(RepoPaths.Root, directory, include));
                pending.Push(Path.GetRelativePath(RepoPaths.Root, full).Replace('\\', '/'));
            }
        }

        return result;
    }
}
