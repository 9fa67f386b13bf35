using System.Globalization;
using System.Text.RegularExpressions;
using Worker.Deploy.Tests.Support;

namespace Worker.Deploy.Tests;

/// <summary>docker-compose.yml, validated with Debian's docker-compose 1.29 (package docker-compose).</summary>
public sealed class ComposeFileTests
{
    private static readonly string[] ExpectedServices = ["rabbitmq", "runtime", "simulator", "worker", "otel-collector", "jaeger"];

    [Fact]
    public void Config_is_valid_for_docker_compose_with_the_example_env_file()
    {
        var result = Compose("config", "-q");

        Assert.True(result.ExitCode == 0, $"docker-compose config -q rejected docker-compose.yml:\n{result}");
    }

    [Fact]
    public void Config_without_credentials_fails_and_points_at_env_example()
    {
        // An empty env file and no RABBITMQ_DEFAULT_* in the environment: the file must refuse to default them.
        using var temp = new TempDirectory();
        var emptyEnvFile = temp.Combine("empty.env");
        File.WriteAllText(emptyEnvFile, string.Empty);
        var result = Tool.Run(DockerCompose(), ["-f", RepoPaths.Path("docker-compose.yml"), "--env-file", emptyEnvFile, "config", "-q"],
            environment: new Dictionary<string, string?> { ["RABBITMQ_DEFAULT_USER"] = null, ["RABBITMQ_DEFAULT_PASS"] = null });

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(".env.example", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public void Has_the_expected_services_each_with_a_healthcheck_and_restart_policy()
    {
        var config = ResolvedConfig();

        Assert.Equal(ExpectedServices.Order(StringComparer.Ordinal), config.Services.Keys.Order(StringComparer.Ordinal));
        foreach (var service in config.Services.Values)
        {
            Assert.True(service.Has("healthcheck"), $"service '{service.Name}' has no healthcheck");
            Assert.Contains(service.Block("healthcheck"), l => l.StartsWith("test:", StringComparison.Ordinal));
            Assert.False(service.Block("healthcheck").Any(l => l.Contains("disable", StringComparison.Ordinal)), $"service '{service.Name}' disables its healthcheck");
            Assert.Equal("unless-stopped", service.Scalar("restart"));
        }
    }

    [Theory]
    [InlineData("worker", "Worker__HealthUrl", "8080")]
    [InlineData("runtime", "Runtime__HealthUrl", "8081")]
    public void Worker_and_runtime_healthchecks_ask_their_readiness_endpoint(string name, string key, string port)
    {
        var service = ResolvedConfig().Services[name];

        Assert.Equal($"http://0.0.0.0:{port}", service.Map("environment")[key]);
        var test = string.Join("\n", service.Block("healthcheck"));
        Assert.Contains($"/dev/tcp/127.0.0.1/{port}", test, StringComparison.Ordinal);
        Assert.Contains("GET /readyz", test, StringComparison.Ordinal);
        Assert.Contains(" 200 ", test, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_built_image_comes_from_an_existing_Dockerfile_under_deploy_docker()
    {
        var config = ResolvedConfig();
        var built = config.Services.Values.Where(s => s.Has("build")).ToList();

        Assert.Equal(["runtime", "simulator", "worker"], built.Select(s => s.Name).Order(StringComparer.Ordinal));
        foreach (var service in built)
        {
            var build = service.Map("build");
            Assert.True(build.TryGetValue("context", out var context), $"service '{service.Name}': build has no context");
            Assert.Equal(Path.TrimEndingDirectorySeparator(RepoPaths.Root), Path.TrimEndingDirectorySeparator(Path.GetFullPath(context!)));
            Assert.True(build.TryGetValue("dockerfile", out var dockerfile), $"service '{service.Name}': build has no dockerfile");
            Assert.StartsWith("deploy/docker/", dockerfile, StringComparison.Ordinal);
            Assert.True(File.Exists(RepoPaths.Path(dockerfile!)), $"service '{service.Name}': {dockerfile} does not exist");
            Assert.NotNull(service.Scalar("image"));
        }
    }

    [Fact]
    public void Worker_scales_and_waits_for_a_healthy_broker_and_runtime()
    {
        var worker = ResolvedConfig()["worker"];

        // `docker compose up --scale worker=3`: a fixed name or host port would collide.
        Assert.False(worker.Has("container_name"), "worker must not set container_name (breaks --scale)");
        Assert.False(worker.Has("ports"), "worker must not publish host ports (breaks --scale)");
        var dependsOn = worker.Block("depends_on");
        foreach (var dependency in new[] { "rabbitmq", "runtime" })
        {
            var at = dependsOn.ToList().IndexOf(dependency + ":");
            Assert.True(at >= 0, $"worker does not depend on {dependency}");
            Assert.Equal("condition: service_healthy", dependsOn[at + 1].Trim());
        }

        var environment = worker.Map("environment");
        Assert.Equal("false", environment["Runtime__Embedded"]);
        Assert.Equal("/run/worker-runtime/runtime.sock", environment["Runtime__SocketPath"]);
        Assert.StartsWith("amqp://", environment["RabbitMq__Uri"], StringComparison.Ordinal);
        Assert.Equal("http://otel-collector:4317", environment["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        Assert.Contains(worker.Block("volumes"), l => l.Trim().StartsWith("- runtime-socket:/run/worker-runtime", StringComparison.Ordinal));
        Assert.True(Seconds(worker.Scalar("stop_grace_period")) > 30, "worker stop_grace_period must exceed Worker:DrainTimeout (30 s)");
    }

    [Fact]
    public void Runtime_shares_its_socket_through_the_named_volume()
    {
        var runtime = ResolvedConfig()["runtime"];

        Assert.Equal("/run/worker-runtime/runtime.sock", runtime.Map("environment")["VASTAR_SOCKET_PATH"]);
        Assert.Contains(runtime.Block("volumes"), l => l.Trim().StartsWith("- runtime-socket:/run/worker-runtime", StringComparison.Ordinal));
        Assert.True(Seconds(runtime.Scalar("stop_grace_period")) > 30, "runtime stop_grace_period must exceed Runtime:DrainTimeout (30 s)");
    }

    [Fact]
    public void Our_services_run_read_only_without_capabilities()
    {
        var config = ResolvedConfig();
        foreach (var name in new[] { "runtime", "simulator", "worker" })
        {
            var service = config[name];
            Assert.Equal("true", service.Scalar("read_only"));
            Assert.Contains(service.Block("tmpfs"), l => l.Trim() == "- /tmp");
            Assert.Contains(service.Block("cap_drop"), l => l.Trim() == "- ALL");
        }
    }

    [Fact]
    public void Images_default_to_the_required_tags_and_tracing_reaches_jaeger()
    {
        var config = ResolvedConfig(new Dictionary<string, string?> { ["RABBITMQ_IMAGE"] = null, ["JAEGER_IMAGE"] = null, ["OTEL_COLLECTOR_IMAGE"] = null });

        Assert.Equal("rabbitmq:3.13-management", config["rabbitmq"].Scalar("image"));
        Assert.StartsWith("jaegertracing/all-in-one:", config["jaeger"].Scalar("image"), StringComparison.Ordinal);
        Assert.Equal("true", config["jaeger"].Map("environment")["COLLECTOR_OTLP_ENABLED"]);
        Assert.StartsWith("otel/opentelemetry-collector-contrib:", config["otel-collector"].Scalar("image"), StringComparison.Ordinal);
        Assert.Contains(config["jaeger"].Block("ports"), l => l.Contains(":16686:16686", StringComparison.Ordinal));
        Assert.Contains(config["rabbitmq"].Block("ports"), l => l.Contains(":15672:15672", StringComparison.Ordinal));
        Assert.Contains(config["otel-collector"].Block("volumes"), l => l.Contains("deploy/docker/otel-collector.yaml:", StringComparison.Ordinal));

        var collector = RepoPaths.Read("deploy", "docker", "otel-collector.yaml");
        Assert.Contains("endpoint: jaeger:4317", collector, StringComparison.Ordinal);
        Assert.Contains("0.0.0.0:4317", collector, StringComparison.Ordinal);
    }

    [Fact]
    public void Image_overrides_come_from_the_environment()
    {
        var config = ResolvedConfig(new Dictionary<string, string?> { ["RABBITMQ_IMAGE"] = "worker-rabbitmq:local" });

        Assert.Equal("worker-rabbitmq:local", config["rabbitmq"].Scalar("image"));
    }

    [Fact]
    public void Compose_file_and_env_example_hold_no_secrets()
    {
        var compose = RepoPaths.Read("docker-compose.yml");
        Assert.DoesNotMatch(new Regex(@"sk-[A-Za-z0-9_-]{10,}"), compose);
        Assert.DoesNotMatch(new Regex(@"(?im)^\s*(RABBITMQ_DEFAULT_PASS|OPENAI_API_KEY)\s*:\s*[^$\s]"), compose);
        Assert.DoesNotContain("guest:guest", compose, StringComparison.Ordinal);

        var example = EnvFile(RepoPaths.Read(".env.example"));
        Assert.Equal(string.Empty, example["OPENAI_API_KEY"]);
        Assert.Equal("true", example["USE_SIMULATOR"]);
        Assert.True(example.ContainsKey("RABBITMQ_DEFAULT_USER"));
        Assert.True(example.ContainsKey("RABBITMQ_DEFAULT_PASS"));
    }

    [Fact]
    public void Dockerignore_keeps_build_outputs_and_git_out_of_the_context()
    {
        var patterns = RepoPaths.Read(".dockerignore").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && l[0] != '#').ToHashSet(StringComparer.Ordinal);

        foreach (var required in new[] { "**/bin/", "**/obj/", ".git/", "TestResults/", ".env" })
        {
            Assert.Contains(required, patterns);
        }
    }

    internal static Dictionary<string, string> EnvFile(string text) =>
        text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && l[0] != '#' && l.Contains('=', StringComparison.Ordinal))
            .ToDictionary(l => l[..l.IndexOf('=', StringComparison.Ordinal)], l => l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..], StringComparer.Ordinal);

    private static ComposeConfig ResolvedConfig(IReadOnlyDictionary<string, string?>? environment = null)
    {
        var result = Compose(environment, "config");
        Assert.True(result.ExitCode == 0, $"docker-compose config failed:\n{result}");
        return ComposeConfig.Parse(result.StandardOutput);
    }

    private static ToolResult Compose(params string[] arguments) => Compose(null, arguments);

    private static ToolResult Compose(IReadOnlyDictionary<string, string?>? environment, params string[] arguments) =>
        Tool.Run(DockerCompose(), ["-f", RepoPaths.Path("docker-compose.yml"), "--env-file", RepoPaths.Path(".env.example"), .. arguments], environment: environment);

    private static string DockerCompose() => Tool.Require("docker-compose", "docker-compose");

    /// <summary>Compose durations as printed by <c>config</c>: 45s, 1m30s, 2m.</summary>
    private static double Seconds(string? duration)
    {
        Assert.NotNull(duration);
        var total = 0.0;
        foreach (Match m in Regex.Matches(duration!, @"(\d+(?:\.\d+)?)(ms|us|h|m|s)"))
        {
            var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            total += m.Groups[2].Value switch
            {
                "h" => value * 3600,
                "m" => value * 60,
                "s" => value,
                "ms" => value / 1000,
                _ => value / 1_000_000,
            };
        }

        return total;
    }
}
