namespace Worker.Testing;

/// <summary>
/// The environment variables the broker-backed tests read, in one place.
/// <c>scripts/test.sh</c> sets them up (see <c>scripts/lib/ensure-broker.sh</c>).
/// </summary>
public static class TestEnvironment
{
    /// <summary>Image of the RabbitMQ container started by <see cref="RabbitMqBrokerFixture"/>.</summary>
    public const string RabbitMqImageVariable = "RABBITMQ_IMAGE";

    /// <summary>
    /// <c>amqp://user:pass@host:port/vhost</c> of an existing broker. When set, no container is started
    /// and the broker cannot be stopped or restarted by tests.
    /// </summary>
    public const string RabbitMqUriVariable = "RABBITMQ_URI";

    /// <summary>The official image, used when <see cref="RabbitMqImageVariable"/> is not set.</summary>
    public const string DefaultRabbitMqImage = "rabbitmq:3.13-management";

    /// <summary>Docker endpoint override honoured by Testcontainers (unset: the local socket).</summary>
    public const string DockerHostVariable = "DOCKER_HOST";

    /// <summary>The RabbitMQ image to start: <c>RABBITMQ_IMAGE</c>, else <see cref="DefaultRabbitMqImage"/>.</summary>
    public static string RabbitMqImage => Read(RabbitMqImageVariable) ?? DefaultRabbitMqImage;

    /// <summary>The external broker from <c>RABBITMQ_URI</c>, or null when unset.</summary>
    /// <exception cref="InvalidOperationException">The variable is set but is not an amqp/amqps URI.</exception>
    public static Uri? ExternalRabbitMqUri
    {
        get
        {
            var value = Read(RabbitMqUriVariable);
            if (value is null)
            {
                return null;
            }

            if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != "amqp" && uri.Scheme != "amqps"))
            {
                throw new InvalidOperationException(
                    $"{RabbitMqUriVariable} must look like amqp://user:pass@host:5672/vhost, but is '{Redact(value)}'.");
            }

            return uri;
        }
    }

    /// <summary>The Docker endpoint, for messages: <c>DOCKER_HOST</c> or the default socket.</summary>
    public static string DockerEndpoint => Read(DockerHostVariable) ?? "unix:///var/run/docker.sock";

    /// <summary>The URI with its password replaced by <c>***</c>, for messages and logs.</summary>
    public static string Redact(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return Redact(uri.OriginalString);
    }

    private static string Redact(string uri)
    {
        var at = uri.IndexOf('@', StringComparison.Ordinal);
        var schemeEnd = uri.IndexOf("://", StringComparison.Ordinal);
        if (at < 0 || schemeEnd < 0 || at < schemeEnd)
        {
            return uri;
        }

        var colon = uri.IndexOf(':', schemeEnd + 3);
        return colon < 0 || colon > at ? uri : string.Concat(uri.AsSpan(0, colon + 1), "***", uri.AsSpan(at));
    }

    private static string? Read(string name)
    {
        var value = Environment.GetEnvironmentVariable(name);
        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }
}
