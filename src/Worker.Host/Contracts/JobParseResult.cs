namespace Worker.Host.Contracts;

/// <summary>
/// What a job body turned out to be: a job; a poison message (cannot be processed at all: dead-lettered with
/// <see cref="Reason"/>); or a readable job with invalid parameters (answered with a failed result).
/// </summary>
public sealed record JobParseResult
{
    public Job? Job { get; private init; }

    /// <summary>The id, when one could be read (also for poison and invalid jobs).</summary>
    public string? Id { get; private init; }

    public string? Tenant { get; private init; }

    public JobParseOutcome Outcome { get; private init; }

    /// <summary>Why it is poison or invalid: a short code and a readable explanation, e.g. "invalid_json: ...".</summary>
    public string? Reason { get; private init; }

    public static JobParseResult Valid(Job job) => new() { Job = job, Id = job.Id, Tenant = job.Tenant, Outcome = JobParseOutcome.Valid };

    public static JobParseResult Poison(string reason, string? id = null, string? tenant = null) =>
        new() { Outcome = JobParseOutcome.Poison, Reason = reason, Id = id, Tenant = tenant };

    public static JobParseResult Invalid(string reason, string id, string tenant) =>
        new() { Outcome = JobParseOutcome.InvalidParameters, Reason = reason, Id = id, Tenant = tenant };
}

public enum JobParseOutcome
{
    Valid,
    Poison,
    InvalidParameters,
}
