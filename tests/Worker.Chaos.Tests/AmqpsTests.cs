using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using DotNet.Testcontainers.Builders;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Testcontainers.RabbitMq;
using Worker.Host.Configuration;
using Worker.Host.Publishing;
using Worker.Simulator;
using Worker.Testing;
using Xunit.Abstractions;

namespace Worker.Chaos.Tests;

/// <summary>A RabbitMQ container with a TLS listener on 5671, its CA and the amqps URI; shared by the tests of <see cref="AmqpsTests"/>.</summary>
public sealed class TlsBrokerFixture : IAsyncLifetime
{
    private const string User = "tls-user";
    private readonly string _password = Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
    private RabbitMqContainer _container = null!;

    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("worker-amqps-").FullName;

    public X509Certificate2 Ca { get; private set; } = null!;

    public Uri AmqpsUri => new($"amqps://{User}:{_password}@localhost:{_container.GetMappedPublicPort(5671)}/");

    public string CaFile => Path.Combine(Directory, "ca.pem");

    public async Task InitializeAsync()
    {
        var (ca, caPem, certPem, keyPem) = CreateCertificates();
        Ca = ca;
        await File.WriteAllTextAsync(CaFile, caPem);
        const string conf = """
            listeners.ssl.default = 5671
            ssl_options.cacertfile = /etc/rabbitmq/tls/ca.pem
            ssl_options.certfile = /etc/rabbitmq/tls/server.pem
            ssl_options.keyfile = /etc/rabbitmq/tls/server.key
            ssl_options.verify = verify_none
            ssl_options.fail_if_no_peer_cert = false
            """;
        _container = new RabbitMqBuilder(TestEnvironment.RabbitMqImage)
            .WithUsername(User)
            .WithPassword(_password)
            .WithPortBinding(5671, assignRandomHostPort: true)
            .WithLabel(RabbitMqBrokerFixture.ContainerLabel, "rabbitmq-tls")
            // The official image reads conf.d by default; the local Debian build needs to be told (RabbitMQ 3.10).
            .WithEnvironment("RABBITMQ_CONFIG_FILES", "/etc/rabbitmq/conf.d")
            .WithResourceMapping(Encoding.UTF8.GetBytes(conf + "\n"), "/etc/rabbitmq/conf.d/20-tls.conf")
            .WithResourceMapping(Encoding.UTF8.GetBytes(caPem), "/etc/rabbitmq/tls/ca.pem")
            .WithResourceMapping(Encoding.UTF8.GetBytes(certPem), "/etc/rabbitmq/tls/server.pem")
            .WithResourceMapping(Encoding.UTF8.GetBytes(keyPem), "/etc/rabbitmq/tls/server.key")
            .WithWaitStrategy(Wait.ForUnixContainer().UntilMessageIsLogged("Server startup complete"))
            .Build();
        await _container.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _container.DisposeAsync();
        Ca.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    /// <summary>A CA and a server certificate for localhost / 127.0.0.1 signed by it, as PEM.</summary>
    private static (X509Certificate2 Ca, string CaPem, string CertPem, string KeyPem) CreateCertificates()
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=Worker chaos tests CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        using var serverKey = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var server = request.Create(ca, now.AddDays(-1), now.AddDays(30), RandomNumberGenerator.GetBytes(16));
        return (ca, ca.ExportCertificatePem(), server.ExportCertificatePem(), serverKey.ExportRSAPrivateKeyPem());
    }
}

/// <summary>
/// amqps to a broker configured for TLS (a CA and a server certificate made here, mounted into a RabbitMQ container
/// as PEM files with a conf.d snippet): the worker's connection factory turns TLS on and verifies the broker's
/// certificate (an unknown CA is refused), and a real worker process works over amqps when the CA is trusted.
/// </summary>
public sealed class AmqpsTests(TlsBrokerFixture broker, ITestOutputHelper output) : IClassFixture<TlsBrokerFixture>
{
    [Fact]
    public async Task The_worker_factory_speaks_tls_to_an_amqps_uri_and_refuses_a_broker_certificate_it_cannot_verify()
    {
        var factory = RabbitMqConnectionProvider.CreateFactory(new RabbitMqOptions { Uri = broker.AmqpsUri.ToString() });
        Assert.True(factory.Ssl.Enabled);
        Assert.Equal("localhost", factory.Ssl.ServerName);
        Assert.Equal(SslPolicyErrors.None, factory.Ssl.AcceptablePolicyErrors);
        factory.AutomaticRecoveryEnabled = false;

        var refused = await Assert.ThrowsAsync<BrokerUnreachableException>(() => factory.CreateConnectionAsync());
        Assert.Contains(Chain(refused), e => e is AuthenticationException);

        // Trusting exactly the test CA: the same factory connects, and messages flow over TLS.
        factory.Ssl.CertificateValidationCallback = TrustOnly(broker.Ca);
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var queue = (await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true)).QueueName;
        await channel.BasicPublishAsync("", queue, Encoding.UTF8.GetBytes("over tls"));
        Assert.True(await Eventually.TrueAsync(async () => await channel.MessageCountAsync(queue) == 1, TimeSpan.FromSeconds(5)));
        var got = await channel.BasicGetAsync(queue, autoAck: true);
        Assert.Equal("over tls", Encoding.UTF8.GetString(got!.Body.Span));
    }

    [Fact]
    public async Task A_worker_process_answers_jobs_over_amqps_when_the_broker_ca_is_trusted()
    {
        await using var simulator = await SimulatorServer.StartAsync();
        var setup = new WorkerSetup(broker.AmqpsUri, "tls", simulator.BaseAddress, Path.Combine(broker.Directory, "work")) { Concurrency = 2 };
        var factory = RabbitMqConnectionProvider.CreateFactory(new RabbitMqOptions { Uri = broker.AmqpsUri.ToString() });
        factory.Ssl.CertificateValidationCallback = TrustOnly(broker.Ca);
        await using (var connection = await factory.CreateConnectionAsync())
        {
            await setup.DeclareTopologyAsync(connection);
        }

        await using var collector = await ResultCollector.StartAsync(factory, setup.ResultsQueue, setup.DeadLetterQueue);

        // The worker has no setting for a private CA (see docs/security.md); OpenSSL's SSL_CERT_FILE makes .NET trust it.
        await using var worker = setup.StartWorker(1, new Dictionary<string, string?> { ["SSL_CERT_FILE"] = broker.CaFile, ["SSL_CERT_DIR"] = broker.Directory });
        await using (var connection = await factory.CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true)))
        {
            await channel.BasicPublishAsync("", setup.JobsQueue, mandatory: true, new BasicProperties { Persistent = true },
                Encoding.UTF8.GetBytes(HostileCorpus.Valid("tls-1", "Hello over TLS")));
        }

        var answered = await Eventually.TrueAsync(() => collector.HasSucceeded("tls-1"), TimeSpan.FromSeconds(30));
        output.WriteLine(worker.Tail(20));
        Assert.True(answered, "no result over amqps:\n" + worker.Tail(30));
        Assert.Contains("Connected to RabbitMQ at amqps://localhost", worker.Tail(200), StringComparison.Ordinal);
    }

    private static RemoteCertificateValidationCallback TrustOnly(X509Certificate2 ca) => (_, certificate, _, errors) =>
    {
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var presented = new X509Certificate2(certificate);
        return chain.Build(presented);
    };

    private static IEnumerable<Exception> Chain(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            yield return e;
            if (e is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions.SelectMany(Chain))
                {
                    yield return inner;
                }
            }
        }
    }
}
