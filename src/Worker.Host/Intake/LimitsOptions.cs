using System.ComponentModel.DataAnnotations;

namespace Worker.Host.Intake;

/// <summary>
/// Admission: how the worker paces itself to the endpoint's limits. Section <c>Llm:Limits</c>. The endpoint's own
/// <c>x-ratelimit-*</c> headers are always learned; the limits here are for endpoints that send none.
/// </summary>
public sealed class LimitsOptions : IValidatableObject
{
    public const string SectionName = "Llm:Limits";

    /// <summary>Requests per minute the endpoint allows this key, when it sends no headers. 0 = unknown. Default 0.</summary>
    [Range(0, 100_000_000)]
    public int RequestsPerMinute { get; set; }

    /// <summary>Tokens per minute the endpoint allows this key, when it sends no headers. 0 = unknown. Default 0.</summary>
    [Range(0, 2_000_000_000)]
    public long TokensPerMinute { get; set; }

    /// <summary>
    /// Adapt concurrency to the endpoint: fewer calls at once on 429/503 and when latency grows (a queue forms at the
    /// server), more while answers come back healthy, between 1 and <c>Worker:Concurrency</c>. Default true.
    /// </summary>
    public bool AdaptiveConcurrency { get; set; } = true;

    /// <summary>
    /// The longest a job waits in the worker for admission. A longer wait sends it back to the broker through a delay
    /// queue (it holds no slot meanwhile) to return when the limit allows. Default 10 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Output tokens assumed for a job that sets no <c>max_tokens</c>, when estimating its cost before the call. Default 256.</summary>
    [Range(1, 1_000_000)]
    public int DefaultOutputTokens { get; set; } = 256;

    /// <summary>
    /// Tokens per minute per tenant (<c>Llm:Limits:Tenants:acme=20000</c>), enforced by each worker on its own. A tenant
    /// over its budget is delayed (through the delay queues) while the others go on. Tenants not listed are not limited.
    /// </summary>
    public IDictionary<string, long> Tenants { get; } = new Dictionary<string, long>(StringComparer.Ordinal);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var (tenant, budget) in Tenants)
        {
            if (budget <= 0)
            {
                yield return new ValidationResult($"Llm:Limits:Tenants:{tenant} must be a positive number of tokens per minute.", [nameof(Tenants)]);
            }
        }
    }
}
