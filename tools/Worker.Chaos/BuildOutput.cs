using System.Reflection;

namespace Worker.Chaos;

/// <summary>
/// Where the real executables are: the build output of <c>src/Worker.Host</c> and <c>src/Worker.Runtime</c> for the
/// configuration this assembly was built in (tests build them through their project references). <c>WORKER_HOST_DLL</c>
/// and <c>WORKER_RUNTIME_DLL</c> override the paths.
/// </summary>
public static class BuildOutput
{
    public const string WorkerHostDllVariable = "WORKER_HOST_DLL";
    public const string RuntimeDllVariable = "WORKER_RUNTIME_DLL";
    private const string TargetFramework = "net10.0";

    /// <summary>Debug or Release: the configuration this assembly was built in.</summary>
    public static string Configuration =>
        typeof(BuildOutput).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration is { Length: > 0 } c ? c : "Debug";

    /// <summary>The repository root: the nearest directory above the binaries holding Directory.Packages.props and src/.</summary>
    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Directory.Packages.props")) && Directory.Exists(Path.Combine(dir.FullName, "src")))
                {
                    return dir.FullName;
                }
            }

            throw new DirectoryNotFoundException($"No repository root (Directory.Packages.props + src/) above {AppContext.BaseDirectory}.");
        }
    }

    /// <summary><c>src/Worker.Host/bin/&lt;cfg&gt;/net10.0/Worker.Host.dll</c>, checked to exist.</summary>
    public static string WorkerHostDll => Locate(WorkerHostDllVariable, "Worker.Host");

    /// <summary><c>src/Worker.Runtime/bin/&lt;cfg&gt;/net10.0/Worker.Runtime.dll</c>, checked to exist.</summary>
    public static string RuntimeDll => Locate(RuntimeDllVariable, "Worker.Runtime");

    /// <summary>The dotnet host that runs this process (so the children use the same runtime).</summary>
    public static string DotnetHost
    {
        get
        {
            if (Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } hostPath && File.Exists(hostPath))
            {
                return hostPath;
            }

            var process = Environment.ProcessPath;
            return process is not null && Path.GetFileNameWithoutExtension(process) == "dotnet" ? process : "dotnet";
        }
    }

    private static string Locate(string variable, string project)
    {
        var overridden = Environment.GetEnvironmentVariable(variable);
        var path = string.IsNullOrWhiteSpace(overridden)
            ? Path.Combine(RepositoryRoot, "src", project, "bin", Configuration, TargetFramework, project + ".dll")
            : Path.GetFullPath(overridden);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException(
                $"{project}.dll not found at {path}. The chaos tests run the real {project} executable: build it first " +
                $"(dotnet build src/{project} -c {Configuration}, which building tests/Worker.Chaos.Tests also does) or set {variable} to its path.",
                path);
        }

        return path;
    }
}
