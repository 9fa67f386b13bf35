using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Worker.Deploy.Tests.Support;

/// <summary>
/// KEDA's ScaledObject and TriggerAuthentication (keda.sh/v1alpha1), transcribed from the CRDs' OpenAPI schemas
/// (config/crd/bases/keda.sh_scaledobjects.yaml and keda.sh_triggerauthentications.yaml of KEDA v2): every field the
/// CRDs define at the levels we use, nothing else. No package offers these schemas offline, so the YAML is read into
/// these records with unknown fields rejected, then the CRDs' required fields, enums and the rabbitmq scaler's metadata
/// keys are checked. Not covered: fields we do not use below the levels modelled (e.g. HPA behavior is kept loose).
/// </summary>
internal static class KedaSchema
{
    private static readonly HashSet<string> RabbitMqMetadata = new(StringComparer.Ordinal)
    {
        "host", "hostFromEnv", "usernameFromEnv", "passwordFromEnv", "protocol", "mode", "value", "activationValue", "queueName",
        "vhostName", "useRegex", "excludeUnacknowledged", "pageSize", "operation", "timeout", "unsafeSsl",
    };

    public static (ScaledObject Scaled, TriggerAuthentication Auth) Read(string yaml)
    {
        var deserializer = new DeserializerBuilder().WithNamingConvention(CamelCaseNamingConvention.Instance).Build();
        ScaledObject? scaled = null;
        TriggerAuthentication? auth = null;
        foreach (var document in yaml.Split("\n---", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kind = deserializer.Deserialize<Dictionary<string, object>>(document)["kind"] as string;
            switch (kind)
            {
                case "ScaledObject":
                    scaled = deserializer.Deserialize<ScaledObject>(document);
                    break;
                case "TriggerAuthentication":
                    auth = deserializer.Deserialize<TriggerAuthentication>(document);
                    break;
                default:
                    throw new InvalidDataException($"unexpected kind {kind}");
            }
        }

        Check(scaled ?? throw new InvalidDataException("no ScaledObject"), auth ?? throw new InvalidDataException("no TriggerAuthentication"));
        return (scaled, auth);
    }

    private static void Check(ScaledObject scaled, TriggerAuthentication auth)
    {
        Require(scaled.ApiVersion == "keda.sh/v1alpha1" && auth.ApiVersion == "keda.sh/v1alpha1", "apiVersion must be keda.sh/v1alpha1");
        Require(!string.IsNullOrEmpty(scaled.Metadata.Name) && !string.IsNullOrEmpty(auth.Metadata.Name), "metadata.name is required");
        Require(!string.IsNullOrEmpty(scaled.Spec.ScaleTargetRef.Name), "spec.scaleTargetRef.name is required");
        Require(scaled.Spec.Triggers.Count > 0, "spec.triggers is required");
        Require(scaled.Spec.MinReplicaCount is null or >= 0 && scaled.Spec.MaxReplicaCount is null or >= 1, "replica counts out of range");
        Require(scaled.Spec.MinReplicaCount <= scaled.Spec.MaxReplicaCount, "minReplicaCount above maxReplicaCount");
        Require(scaled.Spec.Fallback is null || (scaled.Spec.Fallback.FailureThreshold >= 0 && scaled.Spec.Fallback.Replicas >= 0), "fallback needs failureThreshold and replicas");
        foreach (var trigger in scaled.Spec.Triggers)
        {
            Require(!string.IsNullOrEmpty(trigger.Type), "triggers[].type is required");
            Require(trigger.MetricType is null or "AverageValue" or "Value" or "Utilization", "triggers[].metricType must be AverageValue, Value or Utilization");
            Require(trigger.AuthenticationRef is null || !string.IsNullOrEmpty(trigger.AuthenticationRef.Name), "authenticationRef.name is required");
            if (trigger.Type == "rabbitmq")
            {
                Require(trigger.Metadata.Keys.All(RabbitMqMetadata.Contains), $"unknown rabbitmq scaler metadata: {string.Join(", ", trigger.Metadata.Keys.Where(k => !RabbitMqMetadata.Contains(k)))}");
                Require(trigger.Metadata.GetValueOrDefault("mode") is null or "QueueLength" or "MessageRate", "rabbitmq mode must be QueueLength or MessageRate");
                Require(trigger.Metadata.GetValueOrDefault("protocol") is null or "auto" or "amqp" or "http", "rabbitmq protocol must be auto, amqp or http");
                Require(trigger.Metadata.ContainsKey("queueName"), "rabbitmq needs queueName");
                Require(trigger.Metadata.ContainsKey("host") || trigger.Metadata.ContainsKey("hostFromEnv") || trigger.AuthenticationRef is not null, "rabbitmq needs a host");
            }
        }

        foreach (var target in auth.Spec.SecretTargetRef ?? [])
        {
            Require(!string.IsNullOrEmpty(target.Parameter) && !string.IsNullOrEmpty(target.Name) && !string.IsNullOrEmpty(target.Key), "secretTargetRef needs parameter, name and key");
        }
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidDataException("KEDA schema: " + message);
        }
    }
}

internal sealed class KedaMetadata
{
    public string Name { get; set; } = "";

    public string? Namespace { get; set; }

    public Dictionary<string, string>? Labels { get; set; }

    public Dictionary<string, string>? Annotations { get; set; }
}

internal sealed class ScaledObject
{
    public string ApiVersion { get; set; } = "";

    public string Kind { get; set; } = "";

    public KedaMetadata Metadata { get; set; } = new();

    public ScaledObjectSpec Spec { get; set; } = new();
}

internal sealed class ScaledObjectSpec
{
    public ScaleTarget ScaleTargetRef { get; set; } = new();

    public int? PollingInterval { get; set; }

    public int? CooldownPeriod { get; set; }

    public int? InitialCooldownPeriod { get; set; }

    public int? IdleReplicaCount { get; set; }

    public int? MinReplicaCount { get; set; }

    public int? MaxReplicaCount { get; set; }

    public Fallback? Fallback { get; set; }

    public Advanced? Advanced { get; set; }

    public List<Trigger> Triggers { get; set; } = [];
}

internal sealed class ScaleTarget
{
    public string? ApiVersion { get; set; }

    public string? Kind { get; set; }

    public string Name { get; set; } = "";

    public string? EnvSourceContainerName { get; set; }
}

internal sealed class Fallback
{
    public int FailureThreshold { get; set; } = -1;

    public int Replicas { get; set; } = -1;

    public string? Behavior { get; set; }
}

internal sealed class Advanced
{
    public bool? RestoreToOriginalReplicaCount { get; set; }

    public HpaConfig? HorizontalPodAutoscalerConfig { get; set; }

    public Dictionary<string, object>? ScalingModifiers { get; set; }
}

internal sealed class HpaConfig
{
    public string? Name { get; set; }

    // autoscaling/v2 HorizontalPodAutoscalerBehavior: checked by Kubernetes, kept loose here.
    public Dictionary<string, object>? Behavior { get; set; }
}

internal sealed class Trigger
{
    public string Type { get; set; } = "";

    public string? Name { get; set; }

    public bool? UseCachedMetrics { get; set; }

    public string? MetricType { get; set; }

    public Dictionary<string, string> Metadata { get; set; } = [];

    public AuthenticationRef? AuthenticationRef { get; set; }
}

internal sealed class AuthenticationRef
{
    public string Name { get; set; } = "";

    public string? Kind { get; set; }
}

internal sealed class TriggerAuthentication
{
    public string ApiVersion { get; set; } = "";

    public string Kind { get; set; } = "";

    public KedaMetadata Metadata { get; set; } = new();

    public TriggerAuthenticationSpec Spec { get; set; } = new();
}

internal sealed class TriggerAuthenticationSpec
{
    public List<SecretTargetRef>? SecretTargetRef { get; set; }

    public List<EnvTarget>? Env { get; set; }
}

internal sealed class SecretTargetRef
{
    public string Parameter { get; set; } = "";

    public string Name { get; set; } = "";

    public string Key { get; set; } = "";
}

internal sealed class EnvTarget
{
    public string Parameter { get; set; } = "";

    public string Name { get; set; } = "";

    public string? ContainerName { get; set; }
}
