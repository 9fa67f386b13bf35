using System.Globalization;
using k8s;
using k8s.Models;
using Worker.Deploy.Tests.Support;
using YamlDotNet.Core;

namespace Worker.Deploy.Tests;

/// <summary>
/// deploy/k8s, checked offline: every Kubernetes object is read with the KubernetesClient models in strict mode (an
/// unknown or misspelt field, a wrong type or an unknown apiVersion/kind fails), then the properties the worker depends
/// on are asserted. KEDA publishes no .NET models or offline schema package, so <see cref="KedaSchema"/> transcribes
/// the fields of its ScaledObject and TriggerAuthentication CRDs (keda.sh/v1alpha1) and reads the file just as strictly.
/// </summary>
public sealed class KubernetesManifestTests
{
    private static readonly string K8sDirectory = RepoPaths.Path("deploy/k8s");

    [Theory]
    [InlineData("namespace.yaml")]
    [InlineData("configmap.yaml")]
    [InlineData("deployment.yaml")]
    [InlineData("poddisruptionbudget.yaml")]
    [InlineData("secret.example.yaml")]
    public void Every_object_matches_the_Kubernetes_API_schema(string file)
    {
        var objects = Load(file);

        Assert.NotEmpty(objects);
        Assert.All(objects, o => Assert.IsAssignableFrom<IKubernetesObject>(o));
    }

    [Fact]
    public void Strict_reading_catches_a_misspelt_field()
    {
        var broken = File.ReadAllText(Path.Combine(K8sDirectory, "deployment.yaml")).Replace("readinessProbe:", "readinesProbe:", StringComparison.Ordinal);

        Assert.ThrowsAny<YamlException>(() => KubernetesYaml.LoadAllFromString(broken, strict: true));
    }

    [Fact]
    public void Deployment_probes_the_health_port_and_outlives_the_drain()
    {
        var deployment = Assert.Single(Load("deployment.yaml").OfType<V1Deployment>());
        var config = Assert.Single(Load("configmap.yaml").OfType<V1ConfigMap>());
        var pod = deployment.Spec.Template.Spec;
        var worker = Assert.Single(pod.Containers);

        Assert.Equal("http://0.0.0.0:8080", config.Data["Worker__HealthUrl"]);
        var port = Assert.Single(worker.Ports);
        Assert.Equal(8080, port.ContainerPort);
        Assert.Equal("/healthz", worker.LivenessProbe.HttpGet.Path);
        Assert.Equal("/readyz", worker.ReadinessProbe.HttpGet.Path);
        Assert.Equal("/healthz", worker.StartupProbe.HttpGet.Path);
        Assert.All([worker.LivenessProbe, worker.ReadinessProbe, worker.StartupProbe], probe => Assert.Equal(port.Name, probe.HttpGet.Port.Value));

        var drain = TimeSpan.Parse(config.Data["Worker__DrainTimeout"], CultureInfo.InvariantCulture);
        Assert.True(pod.TerminationGracePeriodSeconds > drain.TotalSeconds, $"terminationGracePeriodSeconds {pod.TerminationGracePeriodSeconds} must exceed Worker:DrainTimeout {drain}");

        // Sized from the bench's memory figures: above the 111 MiB steady state, with headroom for peaks.
        Assert.True(worker.Resources.Requests["memory"].ToInt64() >= 128L * 1024 * 1024);
        Assert.True(worker.Resources.Limits["memory"].ToInt64() >= worker.Resources.Requests["memory"].ToInt64());
        Assert.Equal("0", deployment.Spec.Strategy.RollingUpdate.MaxUnavailable.Value);
        Assert.True(worker.SecurityContext.ReadOnlyRootFilesystem);
        Assert.Equal("true", config.Data["Runtime__Embedded"]);
        Assert.Contains(pod.Volumes, v => v.EmptyDir is not null && worker.VolumeMounts.Any(m => m.Name == v.Name && m.MountPath == "/run/worker-runtime"));
    }

    [Fact]
    public void Secrets_come_from_a_Secret_and_the_config_holds_none()
    {
        var deployment = Assert.Single(Load("deployment.yaml").OfType<V1Deployment>());
        var config = Assert.Single(Load("configmap.yaml").OfType<V1ConfigMap>());
        var secret = Assert.Single(Load("secret.example.yaml").OfType<V1Secret>());
        var worker = Assert.Single(deployment.Spec.Template.Spec.Containers);

        Assert.Contains(worker.EnvFrom, e => e.SecretRef?.Name == secret.Metadata.Name);
        Assert.Contains("RabbitMq__Uri", secret.StringData.Keys);
        Assert.Contains("OPENAI_API_KEY", secret.StringData.Keys);
        Assert.DoesNotContain(config.Data.Keys, k => k.Contains("Uri", StringComparison.Ordinal) || k.Contains("KEY", StringComparison.Ordinal));
        Assert.Equal(3, config.Data.Keys.Count(k => k.StartsWith("RabbitMq__Hosts__", StringComparison.Ordinal)));
    }

    [Fact]
    public void Disruption_budget_selects_the_worker_pods()
    {
        var deployment = Assert.Single(Load("deployment.yaml").OfType<V1Deployment>());
        var budget = Assert.Single(Load("poddisruptionbudget.yaml").OfType<V1PodDisruptionBudget>());

        Assert.Equal(deployment.Spec.Selector.MatchLabels, budget.Spec.Selector.MatchLabels);
        Assert.Equal("1", budget.Spec.MaxUnavailable.Value);
    }

    [Fact]
    public void ScaledObject_matches_the_KEDA_schema_and_scales_the_deployment_on_the_jobs_queue()
    {
        var deployment = Assert.Single(Load("deployment.yaml").OfType<V1Deployment>());
        var config = Assert.Single(Load("configmap.yaml").OfType<V1ConfigMap>());
        var secret = Assert.Single(Load("secret.example.yaml").OfType<V1Secret>());
        var (scaled, auth) = KedaSchema.Read(File.ReadAllText(Path.Combine(K8sDirectory, "scaledobject.yaml")));

        Assert.Equal(deployment.Metadata.Name, scaled.Spec.ScaleTargetRef.Name);
        Assert.Equal("Deployment", scaled.Spec.ScaleTargetRef.Kind);
        Assert.InRange(scaled.Spec.MinReplicaCount ?? 0, 1, scaled.Spec.MaxReplicaCount ?? 100);
        var trigger = Assert.Single(scaled.Spec.Triggers);
        Assert.Equal("rabbitmq", trigger.Type);
        Assert.Equal(config.Data["RabbitMq__JobsQueue"], trigger.Metadata["queueName"]);
        Assert.Equal("QueueLength", trigger.Metadata["mode"]);
        Assert.True(int.Parse(trigger.Metadata["value"], CultureInfo.InvariantCulture) > 0);
        Assert.Equal(auth.Metadata.Name, trigger.AuthenticationRef!.Name);
        var host = Assert.Single(auth.Spec.SecretTargetRef!);
        Assert.Equal("host", host.Parameter);
        Assert.Equal(secret.Metadata.Name, host.Name);
        Assert.Contains(host.Key, secret.StringData.Keys);
    }

    [Fact]
    public void KEDA_schema_check_rejects_an_unknown_field_and_a_bad_mode()
    {
        var text = File.ReadAllText(Path.Combine(K8sDirectory, "scaledobject.yaml"));

        Assert.ThrowsAny<YamlException>(() => KedaSchema.Read(text.Replace("cooldownPeriod:", "cooldownPeriods:", StringComparison.Ordinal)));
        Assert.Throws<InvalidDataException>(() => KedaSchema.Read(text.Replace("mode: QueueLength", "mode: Depth", StringComparison.Ordinal)));
    }

    [Fact]
    public void Kustomization_lists_every_manifest_but_the_secret_example()
    {
        var kustomization = File.ReadAllText(Path.Combine(K8sDirectory, "kustomization.yaml"));
        var listed = kustomization.Split('\n').Where(l => l.TrimStart().StartsWith("- ", StringComparison.Ordinal) && l.Trim().EndsWith(".yaml", StringComparison.Ordinal))
            .Select(l => l.Trim()[2..]).ToHashSet(StringComparer.Ordinal);

        var onDisk = Directory.GetFiles(K8sDirectory, "*.yaml").Select(Path.GetFileName).Where(f => f is not "kustomization.yaml" and not "secret.example.yaml").ToHashSet(StringComparer.Ordinal);
        Assert.Equal(onDisk.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
    }

    private static List<object> Load(string file) =>
        KubernetesYaml.LoadAllFromString(File.ReadAllText(Path.Combine(K8sDirectory, file)), strict: true);
}
