using System.ComponentModel.DataAnnotations;

namespace Worker.Host.Configuration;

/// <summary>How jobs are taken and processed. Section <c>Worker</c>.</summary>
public sealed class WorkerOptions : IValidatableObject
{
    public const string SectionName = "Worker";

    /// <summary>Jobs in flight at once (C). 1 = sequential, results in queue order. Default 8.</summary>
    [Range(1, 4096)]
    public int Concurrency { get; set; } = 8;

    /// <summary>Broker prefetch; 0 = 2 × Concurrency. Must be ≥ Concurrency. Default 0.</summary>
    [Range(0, 65535)]
    public int Prefetch { get; set; }

    /// <summary>Largest job body accepted; larger ones are dead-lettered. Default 1 MiB.</summary>
    [Range(256, 64 * 1024 * 1024)]
    public int MaxJobBytes { get; set; } = 1024 * 1024;

    /// <summary>On stop, how long jobs in flight may finish before they are requeued. Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a job that gives no <c>deadline</c> or <c>ttl_seconds</c> stays worth answering, from its AMQP
    /// timestamp (or, without one, from when this worker received it). Default 24 h, like the Batch API.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan DefaultJobTtl { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Tenant for jobs that name none. Default "default".</summary>
    [Required(AllowEmptyStrings = false)]
    public string DefaultTenant { get; set; } = "default";

    /// <summary>Stream completions by default (jobs may override). Default true.</summary>
    public bool DefaultStream { get; set; } = true;

    /// <summary>Publish live deltas (<c>completion.delta</c>) for jobs that do not say (<c>"deltas"</c>). Default false.</summary>
    public bool Deltas { get; set; }

    /// <summary>Deltas are coalesced: one is published at most this often, unless <see cref="DeltaMaxPieces"/> came first. Default 250 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan DeltaInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Stream pieces (about tokens) that make a delta due before <see cref="DeltaInterval"/> has passed. Default 64.</summary>
    [Range(1, 100_000)]
    public int DeltaMaxPieces { get; set; } = 64;

    /// <summary>
    /// Cancelled job ids remembered for jobs not yet received (each for <see cref="DefaultJobTtl"/>, the oldest
    /// forgotten first when full). Default 100,000.
    /// </summary>
    [Range(1, 10_000_000)]
    public int CancelMemory { get; set; } = 100_000;

    /// <summary>Answer Batch-form jobs in Batch output form (<c>Batch</c>) or in our result form (<c>Native</c>). Default Native.</summary>
    public BatchResultFormat BatchResultFormat { get; set; } = BatchResultFormat.Native;

    /// <summary>
    /// Where to serve <c>/healthz</c>, <c>/readyz</c> and <c>/metrics</c>, e.g. <c>http://0.0.0.0:8080</c>
    /// (checked at start by the health registration). Empty = no HTTP port at all. Default empty.
    /// </summary>
    public string? HealthUrl { get; set; }

    public int EffectivePrefetch => Prefetch == 0 ? Math.Min(65535, Concurrency * 2) : Prefetch;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Prefetch != 0 && Prefetch < Concurrency)
        {
            yield return new ValidationResult(
                $"Worker:Prefetch ({Prefetch}) must be 0 (auto) or at least Worker:Concurrency ({Concurrency}).", [nameof(Prefetch)]);
        }
    }
}

public enum BatchResultFormat
{
    Native,
    Batch,
}
