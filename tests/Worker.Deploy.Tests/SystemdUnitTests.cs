using System.Globalization;
using System.Text.RegularExpressions;
using Worker.Deploy.Tests.Support;

namespace Worker.Deploy.Tests;

/// <summary>
/// deploy/systemd: the units as install.sh installs them (staged with --root), checked by systemd-analyze verify
/// (package systemd) and for the settings the services depend on.
/// </summary>
public sealed class SystemdUnitTests
{
    private static readonly string[] Units = ["worker-runtime.service", "llm-worker.service", "llm-worker-simulator.service"];

    private static readonly string[] Hardening =
    [
        "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes", "ProtectControlGroups=yes", "LockPersonality=yes", "RestrictRealtime=yes",
        "RestrictSUIDSGID=yes", "CapabilityBoundingSet=", "SystemCallArchitectures=native",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
    ];

    [Fact]
    public void Installed_units_pass_systemd_analyze_verify()
    {
        using var root = new TempDirectory();
        var unitDir = Stage(root);

        var problems = Verify(unitDir, Units);

        Assert.True(problems.Count == 0, "systemd-analyze verify reported:\n" + string.Join('\n', problems));
    }

    [Fact]
    public void Verify_check_catches_an_unknown_directive_and_a_missing_section()
    {
        // Negative control: systemd-analyze verify exits 0 on an unknown key (it only logs it), so the check
        // must look at the messages. Proves that the check above would fail on a broken unit.
        using var root = new TempDirectory();
        var unitDir = Stage(root);
        var worker = Path.Combine(unitDir, "llm-worker.service");
        var original = File.ReadAllText(worker);

        File.WriteAllText(worker, original.Replace("[Service]\n", "[Service]\nProtectKernelTunabels=yes\n", StringComparison.Ordinal));
        Assert.Contains(Verify(unitDir, Units), p => p.Contains("ProtectKernelTunabels", StringComparison.Ordinal));

        File.WriteAllText(worker, original.Replace("Type=notify", "Type=notfy", StringComparison.Ordinal));
        Assert.Contains(Verify(unitDir, Units), p => p.Contains("notfy", StringComparison.Ordinal));

        File.WriteAllText(worker, original.Replace("[Service]", "[Servce]", StringComparison.Ordinal));
        Assert.NotEmpty(Verify(unitDir, Units));
    }

    [Theory]
    [InlineData("worker-runtime.service")]
    [InlineData("llm-worker.service")]
    public void Dotnet_hosts_are_notify_services_that_outlast_the_drain(string unit)
    {
        var settings = Settings(unit);

        Assert.Equal("notify", settings["Type"].Single());
        Assert.Equal("on-failure", settings["Restart"].Single());
        Assert.True(Seconds(settings["TimeoutStopSec"].Single()) > 30, $"{unit}: TimeoutStopSec must exceed the 30 s drain timeout");
    }

    [Theory]
    [InlineData("worker-runtime.service")]
    [InlineData("llm-worker.service")]
    public void The_stop_timeout_exceeds_the_hosts_own_shutdown_timeout_and_config_errors_are_not_restarted(string unit)
    {
        var settings = Settings(unit);

        // The worker's host gives itself Worker:DrainTimeout + 15 s (WorkerServiceCollectionExtensions) to stop;
        // systemd must wait longer than that, or it kills a worker that is still acknowledging.
        Assert.True(Seconds(settings["TimeoutStopSec"].Single()) > 45, $"{unit}: TimeoutStopSec must exceed DrainTimeout + 15 s");
        Assert.Equal(["2", "78"], settings["RestartPreventExitStatus"].Single().Split(' '));
    }

    [Theory]
    [InlineData("worker-runtime.service")]
    [InlineData("llm-worker.service")]
    [InlineData("llm-worker-simulator.service")]
    public void Units_are_hardened_without_the_settings_that_break_dotnet(string unit)
    {
        var directives = Directives(unit);

        foreach (var setting in Hardening)
        {
            Assert.Contains(setting, directives);
        }

        // MemoryDenyWriteExecute breaks the JIT; ProtectProc=invisible hides systemd from UseSystemd (dotnet/runtime#125368).
        Assert.DoesNotContain(directives, d => d.StartsWith("MemoryDenyWriteExecute", StringComparison.Ordinal));
        Assert.DoesNotContain(directives, d => Regex.IsMatch(d, @"^ProtectProc\s*=\s*invisible"));
        var text = RepoPaths.Read("deploy", "systemd", unit);
        Assert.Contains("MemoryDenyWriteExecute", text, StringComparison.Ordinal);
        Assert.Contains("#125368", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Runtime_listens_in_its_runtime_directory_for_the_worker_group()
    {
        var settings = Settings("worker-runtime.service");

        Assert.Equal("worker-runtime", settings["RuntimeDirectory"].Single());
        Assert.Equal("0750", settings["RuntimeDirectoryMode"].Single());
        Assert.Equal("llm-worker", settings["Group"].Single());
        Assert.Contains("VASTAR_SOCKET_PATH=/run/worker-runtime/runtime.sock", settings["Environment"]);
        Assert.Contains("Runtime__SocketGroup=llm-worker", settings["Environment"]);
        Assert.Contains("-/etc/llm-worker/runtime.env", settings["EnvironmentFile"]);
        Assert.Equal("/usr/bin/dotnet /opt/llm-worker/runtime/Worker.Runtime.dll", settings["ExecStart"].Single());
    }

    [Fact]
    public void Worker_runs_after_the_runtime_and_uses_its_socket()
    {
        var settings = Settings("llm-worker.service");

        Assert.Contains("worker-runtime.service", settings["After"].SelectMany(v => v.Split(' ')));
        Assert.Contains("worker-runtime.service", settings["Requires"].SelectMany(v => v.Split(' ')));
        Assert.Equal("llm-worker", settings["User"].Single());
        Assert.Contains("Runtime__Embedded=false", settings["Environment"]);
        Assert.Contains("Runtime__SocketPath=/run/worker-runtime/runtime.sock", settings["Environment"]);
        Assert.Contains("-/etc/llm-worker/worker.env", settings["EnvironmentFile"]);
        Assert.Equal("/usr/bin/dotnet /opt/llm-worker/worker/Worker.Host.dll run", settings["ExecStart"].Single());
    }

    [Fact]
    public void Install_writes_this_machines_dotnet_and_the_prefix_into_ExecStart()
    {
        using var root = new TempDirectory();
        var unitDir = Stage(root, "--prefix", "/srv/llm");

        foreach (var (unit, app, dll) in new[]
                 {
                     ("worker-runtime.service", "runtime", "Worker.Runtime"),
                     ("llm-worker.service", "worker", "Worker.Host"),
                     ("llm-worker-simulator.service", "simulator", "Worker.Simulator"),
                 })
        {
            Assert.True(File.Exists(RepoPaths.Path("src", dll, dll + ".csproj")), $"{dll}.dll has no project src/{dll}/{dll}.csproj");
            var execStart = Parse(File.ReadAllText(Path.Combine(unitDir, unit)))["ExecStart"].Single().Split(' ');
            Assert.True(Path.IsPathRooted(execStart[0]) && File.Exists(execStart[0]), $"{unit}: ExecStart runs {execStart[0]}, which does not exist");
            Assert.EndsWith("dotnet", execStart[0], StringComparison.Ordinal);
            Assert.Equal($"/srv/llm/{app}/{dll}.dll", execStart[1]);
            Assert.True(Directory.Exists(root.Combine("srv", "llm", app)), $"{app} directory not created under --root");
        }
    }

    [Fact]
    public void Install_never_overwrites_an_existing_env_file()
    {
        using var root = new TempDirectory();
        Stage(root);
        var workerEnv = root.Combine("etc", "llm-worker", "worker.env");
        Assert.Equal(RepoPaths.Read("deploy", "systemd", "worker.env"), File.ReadAllText(workerEnv));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(workerEnv));

        File.WriteAllText(workerEnv, "OPENAI_API_KEY=site-secret\n");
        Stage(root);

        Assert.Equal("OPENAI_API_KEY=site-secret\n", File.ReadAllText(workerEnv));
    }

    [Fact]
    public void Env_templates_hold_no_secrets()
    {
        var worker = ComposeFileTests.EnvFile(RepoPaths.Read("deploy", "systemd", "worker.env"));

        Assert.Equal(string.Empty, worker["OPENAI_API_KEY"]);
        Assert.Contains("CHANGE-ME", worker["RabbitMq__Uri"], StringComparison.Ordinal);
    }

    /// <summary>Runs install.sh --root DIR --no-publish; returns DIR/etc/systemd/system.</summary>
    private static string Stage(TempDirectory root, params string[] extra)
    {
        var bash = Tool.Require("bash", "bash");
        var result = Tool.Run(bash, [RepoPaths.Path("deploy", "systemd", "install.sh"), "--root", root.Path, "--no-publish", .. extra]);
        Assert.True(result.ExitCode == 0, $"install.sh --root failed:\n{result}");
        var unitDir = root.Combine("etc", "systemd", "system");
        foreach (var unit in Units)
        {
            Assert.True(File.Exists(Path.Combine(unitDir, unit)), $"install.sh did not install {unit}");
        }

        return unitDir;
    }

    /// <summary>
    /// systemd-analyze verify on the given units. It exits 0 on unknown keys, bad values and stray lines (it only
    /// logs them), so every message that names one of the units or their directory counts as a problem too.
    /// </summary>
    private static List<string> Verify(string unitDir, IEnumerable<string> units)
    {
        var analyze = Tool.Require("systemd-analyze", "systemd");
        var paths = units.Select(u => Path.Combine(unitDir, u)).ToList();
        var result = Tool.Run(analyze, ["verify", "--man=no", .. paths], workingDirectory: unitDir,
            environment: new Dictionary<string, string?> { ["SYSTEMD_LOG_COLOR"] = "0", ["SYSTEMD_PAGER"] = "cat" });
        var problems = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(l => l.Contains(unitDir, StringComparison.Ordinal) || units.Any(u => l.Contains(u, StringComparison.Ordinal)))
            .ToList();
        if (result.ExitCode != 0)
        {
            problems.Add($"systemd-analyze verify exited {result.ExitCode}:\n{result.Output}");
        }

        return problems;
    }

    /// <summary>The unit's directive lines (no comments, no section headers), as in the repository.</summary>
    private static List<string> Directives(string unit) =>
        RepoPaths.Read("deploy", "systemd", unit).Split('\n').Select(l => l.Trim())
            .Where(l => l.Length > 0 && l[0] != '#' && l[0] != ';' && l[0] != '[').ToList();

    private static Dictionary<string, List<string>> Settings(string unit) => Parse(RepoPaths.Read("deploy", "systemd", unit));

    private static Dictionary<string, List<string>> Parse(string text)
    {
        var settings = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && l[0] != '#' && l[0] != ';' && l[0] != '['))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            var key = line[..eq];
            if (!settings.TryGetValue(key, out var values))
            {
                settings[key] = values = [];
            }

            values.Add(line[(eq + 1)..]);
        }

        return settings;
    }

    /// <summary>systemd time spans: 45, 45s, 1min 30s, 2m.</summary>
    private static double Seconds(string span)
    {
        if (double.TryParse(span, NumberStyles.Float, CultureInfo.InvariantCulture, out var plain))
        {
            return plain;
        }

        var total = 0.0;
        foreach (Match m in Regex.Matches(span, @"(\d+(?:\.\d+)?)\s*(ms|min|m|s|sec|h|hr)?"))
        {
            var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            total += m.Groups[2].Value switch
            {
                "ms" => value / 1000,
                "min" or "m" => value * 60,
                "h" or "hr" => value * 3600,
                _ => value,
            };
        }

        return total;
    }
}
