using System.Security.Cryptography;
using DotNet.Testcontainers.Builders;
using RabbitMQ.Client;
using Testcontainers.RabbitMq;
using Xunit;

namespace Worker.Testing;

/// <summary>
/// A RabbitMQ broker for tests, shared by the tests of one xunit collection
/// (see <see cref="RabbitMqBrokerCollection"/>).
/// <list type="bullet">
/// <item><c>RABBITMQ_URI</c> set: that broker is used as is (no Docker); it cannot be stopped or started.</item>
/// <item>Otherwise a container is started from <c>RABBITMQ_IMAGE</c> (default <c>rabbitmq:3.13-management</c>)
/// through Testcontainers. Without a reachable Docker engine, initialization fails with a message saying what is
/// missing: broker tests never skip.</item>
/// </list>
/// The container's AMQP port is bound to a FIXED host port (picked at start), because Docker hands out a new
/// random host port when a container with a random binding is restarted. So <see cref="AmqpUri"/> stays the same
/// across <see cref="StopBrokerAsync"/>/<see cref="StartBrokerAsync"/> and clients with automatic recovery
/// reconnect to the same address, as they would to a production broker.
/// Tests share the broker: use <see cref="UniqueName"/> for queues and exchanges, and delete what you declare
/// when the broker is external.
/// </summary>
public sealed class RabbitMqBrokerFixture : IAsyncLifetime
{
    /// <summary>Label on the containers started by this fixture (for <c>docker ps --filter label=...</c>).</summary>
    public const string ContainerLabel = "worker.tests";

    private const int StartAttempts = 3;
    private static readonly TimeSpan ContainerReadyTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan ExternalReadyTimeout = TimeSpan.FromSeconds(15);

    private readonly string _runId = Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
    private int _nameCounter;
    private RabbitMqContainer? _container;
    private Uri? _amqpUri;

    /// <summary>True when the broker is a container this fixture started (and can stop and start).</summary>
    public bool IsContainer => _container is not null;

    /// <summary><c>amqp://user:pass@host:port/</c> of the broker; unchanged by a broker restart.</summary>
    public Uri AmqpUri => _amqpUri ?? throw new InvalidOperationException(
        $"{nameof(RabbitMqBrokerFixture)} is not initialized: use it as an xunit class or collection fixture.");

    /// <summary>A new connection factory for <see cref="AmqpUri"/> (automatic recovery on, as by default).</summary>
    public ConnectionFactory CreateConnectionFactory(string clientProvidedName = "worker-tests") =>
        new() { Uri = AmqpUri, ClientProvidedName = clientProvidedName };

    /// <summary>
    /// A queue/exchange name unique to this test run: <c>{prefix}.{run id}.{counter}</c>,
    /// so tests never collide, even on a shared external broker.
    /// </summary>
    public string UniqueName(string prefix)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        return $"{prefix}.{_runId}.{Interlocked.Increment(ref _nameCounter)}";
    }

    /// <summary>Stops the broker container (a clean shutdown, like <c>docker stop</c>).</summary>
    /// <exception cref="NotSupportedException">The broker is external (<c>RABBITMQ_URI</c>).</exception>
    public Task StopBrokerAsync(CancellationToken cancellationToken = default) =>
        RequireContainer().StopAsync(cancellationToken);

    /// <summary>
    /// Starts the stopped broker container again, on the same host port (so <see cref="AmqpUri"/> is unchanged),
    /// and returns once it accepts AMQP connections: Testcontainers' own check is a log line, which the first
    /// start's logs could satisfy too.
    /// </summary>
    /// <exception cref="NotSupportedException">The broker is external (<c>RABBITMQ_URI</c>).</exception>
    public async Task StartBrokerAsync(CancellationToken cancellationToken = default)
    {
        await RequireContainer().StartAsync(cancellationToken);
        await WaitUntilAcceptingConnectionsAsync(ContainerReadyTimeout, cancellationToken);
    }

    /// <summary>Runs a command in the broker container (<c>rabbitmqctl</c>, as an operator would) and returns its output.</summary>
    /// <exception cref="NotSupportedException">The broker is external (<c>RABBITMQ_URI</c>).</exception>
    public async Task<string> ExecAsync(IList<string> command, CancellationToken cancellationToken = default)
    {
        var result = await RequireContainer().ExecAsync(command, cancellationToken);
        return result.ExitCode == 0
            ? result.Stdout
            : throw new InvalidOperationException($"'{string.Join(' ', command)}' exited {result.ExitCode}: {result.Stderr}");
    }

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        var external = TestEnvironment.ExternalRabbitMqUri;
        if (external is not null)
        {
            _amqpUri = external;
            await WaitUntilAcceptingConnectionsAsync(ExternalReadyTimeout, CancellationToken.None);
            return;
        }

        await StartContainerAsync(TestEnvironment.RabbitMqImage, CancellationToken.None);
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_container is not null)
        {
            await _container.DisposeAsync();
            _container = null;
        }
    }

    private RabbitMqContainer RequireContainer() => _container ?? throw new NotSupportedException(
        $"The broker is external ({TestEnvironment.RabbitMqUriVariable}={TestEnvironment.Redact(AmqpUri)}): tests cannot " +
        $"stop or start it. Broker fault-tolerance tests need a container: unset {TestEnvironment.RabbitMqUriVariable} " +
        "and run scripts/test.sh (or have a Docker engine and RABBITMQ_IMAGE).");

    private async Task StartContainerAsync(string image, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            RabbitMqContainer? container = null;
            try
            {
                container = new RabbitMqBuilder(image)
                    .WithPortBinding(FreeTcpPort.Pick(), RabbitMqBuilder.RabbitMqPort)
                    .WithLabel(ContainerLabel, "rabbitmq")
                    .Build();
                await container.StartAsync(cancellationToken);
            }
            catch (Exception ex) when (attempt < StartAttempts && IsPortConflict(ex))
            {
                // Another process took the picked port between the check and `docker start`: pick again.
                await DisposeQuietlyAsync(container);
                continue;
            }
            catch (DockerUnavailableException ex)
            {
                await DisposeQuietlyAsync(container);
                var cause = RootCause(ex).Message.Trim();
                var apiHint = cause.Contains("too new", StringComparison.OrdinalIgnoreCase)
                    ? " The engine answers but is older than the client: export DOCKER_API_VERSION=<its API version> (1.41 for Debian 12's docker.io)."
                    : string.Empty;
                throw new InvalidOperationException(
                    $"No usable Docker engine ({TestEnvironment.DockerHostVariable}={TestEnvironment.DockerEndpoint}: {cause}) " +
                    $"and {TestEnvironment.RabbitMqUriVariable} not set: run scripts/test.sh, which installs docker.io, starts " +
                    "dockerd, builds the local RabbitMQ image and exports what the tests need, or set " +
                    $"{TestEnvironment.RabbitMqUriVariable} to an existing broker (amqp://user:pass@host:5672/).{apiHint}",
                    ex);
            }
            catch (Exception ex)
            {
                await DisposeQuietlyAsync(container);
                throw new InvalidOperationException(
                    $"Starting a RabbitMQ container from image '{image}' failed: {ex.Message} " +
                    $"Usual causes: the image is neither present nor pullable (no registry: run scripts/test.sh, which builds " +
                    $"worker-rabbitmq:local-<hash> and exports {TestEnvironment.RabbitMqImageVariable}); the Docker daemon is " +
                    "older than the client (export DOCKER_API_VERSION=<daemon API version>, e.g. 1.41 for Debian 12's dockerd); " +
                    "the Ryuk image cannot be pulled (export TESTCONTAINERS_RYUK_DISABLED=true).",
                    ex);
            }

            _container = container;
            _amqpUri = new Uri(container.GetConnectionString());
            try
            {
                await WaitUntilAcceptingConnectionsAsync(ContainerReadyTimeout, cancellationToken);
            }
            catch
            {
                await DisposeAsync();
                throw;
            }

            return;
        }
    }

    private async Task WaitUntilAcceptingConnectionsAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var factory = CreateConnectionFactory("worker-tests-readiness");
        factory.AutomaticRecoveryEnabled = false;
        factory.RequestedConnectionTimeout = TimeSpan.FromSeconds(5);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        Exception? lastError = null;
        while (!deadline.IsCancellationRequested)
        {
            try
            {
                await using var connection = await factory.CreateConnectionAsync(deadline.Token);
                return;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                lastError = ex;
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500), deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                break;
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        var source = IsContainer
            ? $"The RabbitMQ container ({TestEnvironment.Redact(AmqpUri)})"
            : $"{TestEnvironment.RabbitMqUriVariable}={TestEnvironment.Redact(AmqpUri)}";
        throw new TimeoutException(
            $"{source} did not accept an AMQP connection within {timeout.TotalSeconds:0} s: {lastError?.Message}",
            lastError);
    }

    private static Exception RootCause(Exception ex)
    {
        while (true)
        {
            var inner = ex is AggregateException { InnerExceptions.Count: > 0 } aggregate
                ? aggregate.InnerExceptions[0]
                : ex.InnerException;
            if (inner is null)
            {
                return ex;
            }

            ex = inner;
        }
    }

    private static bool IsPortConflict(Exception ex) =>
        ex.ToString().Contains("port is already allocated", StringComparison.OrdinalIgnoreCase)
        || ex.ToString().Contains("address already in use", StringComparison.OrdinalIgnoreCase);

    private static async Task DisposeQuietlyAsync(RabbitMqContainer? container)
    {
        if (container is null)
        {
            return;
        }

        try
        {
            await container.DisposeAsync();
        }
        catch (Exception)
        {
            // Best effort: the original error is the one worth reporting.
        }
    }
}
