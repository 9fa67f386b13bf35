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

    /// <summary>How long a publish may wait for its confirm. Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Publishes awaiting confirms at once per channel. Default 256.</summary>
    [Range(1, 65535)]
    public int MaxOutstandingConfirms { get; set; } = 256;

    /// <summary>Name shown in the broker's connection list. Default worker@{machine}.</summary>
    public string? ClientName { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!System.Uri.TryCreate(Uri, UriKind.Absolute, out var uri) || (uri.Scheme != "amqp" && uri.Scheme != "amqps"))
        {
            // Never echo the URI: it carries the password.
            yield return new ValidationResult("RabbitMq:Uri must be an absolute amqp:// or amqps:// URI.", [nameof(Uri)]);
        }
    }

    /// <summary>The URI without its password, for logs.</summary>
    public string SafeUri() =>
        System.Uri.TryCreate(Uri, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Host}:{(uri.IsDefaultPort ? (uri.Scheme == "amqps" ? 5671 : 5672) : uri.Port)}{uri.AbsolutePath}" : "(invalid uri)";
}
