using System.ComponentModel.DataAnnotations;

namespace Worker.Host.Configuration;

/// <summary>Broker connection and topology names. Section <c>RabbitMq</c>.</summary>
public sealed class RabbitMqOptions : IValidatableObject
{
    public const string SectionName = "RabbitMq";

    /// <summary>amqp:// or amqps:// URI (user, password, host, port, vhost). Default amqp://guest:guest@localhost:5672/.</summary>
    [Required]
    public string Uri { get; set; } = "amqp://guest:guest@localhost:5672/";

    /// <summary>The jobs queue. Default llm.jobs.</summary>
    [Required(AllowEmptyStrings = false)]
    public string JobsQueue { get; set; } = "llm.jobs";

    /// <summary>quorum (default) or classic.</summary>
    [RegularExpression("^(quorum|classic)$", ErrorMessage = "RabbitMq:QueueType must be 'quorum' or 'classic'.")]
    public string QueueType { get; set; } = "quorum";

    /// <summary>Quorum queues: deliveries before a job that keeps crashing workers is dead-lettered. Default 10.</summary>
    [Range(1, 1000)]
    public int DeliveryLimit { get; set; } = 10;

    /// <summary>Dead-letter exchange (fanout). Default llm.jobs.dlx.</summary>
    [Required(AllowEmptyStrings = false)]
    public string DeadLetterExchange { get; set; } = "llm.jobs.dlx";

    /// <summary>Dead-letter queue. Default llm.jobs.dead.</summary>
    [Required(AllowEmptyStrings = false)]
    public string DeadLetterQueue { get; set; } = "llm.jobs.dead";

    /// <summary>Results exchange (topic). Default llm.results.</summary>
    [Required(AllowEmptyStrings = false)]
    public string ResultsExchange { get; set; } = "llm.results";

    /// <summary>Durable queue bound to the results exchange with <c>#</c>, so no result is dropped; empty = none. Default llm.results.</summary>
    public string? ResultsQueue { get; set; } = "llm.results";

    /// <summary>
    /// Control exchange (topic, durable): cancel requests (routing key <c>cancel</c>). Every worker binds its own
    /// exclusive, auto-delete queue to it. Default llm.control.
    /// </summary>
    [Required(AllowEmptyStrings = false)]
    public string ControlExchange { get; set; } = "llm.control";

    /// <summary>How long a publish may wait for its confirm. Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Publishes awaiting confirms at once per channel. Default 256.</summary>
    [Range(1, 65535)]
    public int MaxOutstandingConfirms { get; set; } = 256;

    /// <summary>Name shown in the broker's connection list. Default worker@{machine}.</summary>
    public string? ClientName { get; set; }

    /// <summary>
    /// Cluster nodes as <c>host</c> or <c>host:port</c>. When set, the connection (and its recovery) may use any of
    /// them, in random order; the URI still gives the credentials, vhost and TLS. Empty = the URI's host only.
    /// </summary>
    public IList<string> Hosts { get; } = [];

    /// <summary>
    /// AMQP heartbeat. RabbitMQ.Client checks for inbound traffic once per heartbeat and gives a silent peer (a
    /// partition, a paused node: no FIN, no RST) up at the third check in a row that found none; the first empty check
    /// comes up to one heartbeat after the last frame, so detection takes 3 to 4 heartbeats (seen 7.3–7.9 s with 2 s).
    /// 1 s bounds it at 3–4 s, which leaves room for the reconnect and for the cluster to replace a frozen node's queue
    /// leaders within 10 s. Costs one 8-byte frame each way every half second. Default 1 s (the smallest AMQP allows).
    /// </summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>TCP connect and AMQP handshake timeout per node, so a dead node in <see cref="Hosts"/> costs little. Default 3 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Pause between automatic recovery attempts. Default 1 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan RecoveryInterval { get; set; } = TimeSpan.FromSeconds(1);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!System.Uri.TryCreate(Uri, UriKind.Absolute, out var uri) || (uri.Scheme != "amqp" && uri.Scheme != "amqps"))
        {
            // Never echo the URI: it carries the password.
            yield return new ValidationResult("RabbitMq:Uri must be an absolute amqp:// or amqps:// URI.", [nameof(Uri)]);
        }

        for (var i = 0; i < Hosts.Count; i++)
        {
            if (!TryParseHost(Hosts[i], out _, out _))
            {
                yield return new ValidationResult($"RabbitMq:Hosts:{i}: '{Hosts[i]}' is not host or host:port (port 1-65535).", [nameof(Hosts)]);
            }
        }
    }

    /// <summary>Parses <c>host</c>, <c>host:port</c> or <c>[ipv6]:port</c>; port -1 = the scheme's default.</summary>
    public static bool TryParseHost(string? value, out string host, out int port)
    {
        host = "";
        port = -1;
        if (string.IsNullOrWhiteSpace(value) || value.Contains('/', StringComparison.Ordinal) || value.Contains('@', StringComparison.Ordinal))
        {
            return false;
        }

        // Uri does the bracketed IPv6 and port parsing for us.
        if (!System.Uri.TryCreate("amqp://" + value.Trim(), UriKind.Absolute, out var parsed) || parsed.AbsolutePath != "/" || parsed.Host.Length == 0)
        {
            return false;
        }

        host = parsed.Host.Trim('[', ']');
        port = parsed.IsDefaultPort ? -1 : parsed.Port;
        return port is -1 or (> 0 and <= 65535);
    }

    /// <summary>The URI without its password, for logs (with the node list when <see cref="Hosts"/> is set).</summary>
    public string SafeUri() =>
        !System.Uri.TryCreate(Uri, UriKind.Absolute, out var uri) ? "(invalid uri)"
        : Hosts.Count == 0 ? $"{uri.Scheme}://{uri.Host}:{(uri.IsDefaultPort ? (uri.Scheme == "amqps" ? 5671 : 5672) : uri.Port)}{uri.AbsolutePath}"
        : $"{uri.Scheme}://{string.Join(',', Hosts)}{uri.AbsolutePath}";
}
