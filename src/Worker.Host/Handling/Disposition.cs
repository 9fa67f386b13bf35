using Worker.Host.Contracts;

namespace Worker.Host.Handling;

/// <summary>
/// What the job handler decided for one delivery; the job source carries it out. Every disposition that acks
/// publishes first, and acks only once the broker confirmed what it published.
/// </summary>
public abstract record Disposition
{
    private Disposition(string? jobId) => JobId = jobId;

    /// <summary>The job's id, when one could be read.</summary>
    public string? JobId { get; }

    public abstract JobOutcome Outcome { get; }

    /// <summary>Publish the result, then ack.</summary>
    public sealed record Answer(JobResult Result) : Disposition(Result.Id)
    {
        public override JobOutcome Outcome => Result.Outcome;
    }

    /// <summary>Send the job to the dead-letter exchange with the reason, publish the failed result if there is one, then ack.</summary>
    public sealed record DeadLetter(string Reason, JobResult? Result, string? Id) : Disposition(Id)
    {
        public override JobOutcome Outcome => JobOutcome.DeadLettered;
    }

    /// <summary>
    /// Send the job to wait in a delay queue for about <paramref name="For"/> (it comes back to the jobs queue by
    /// itself), noting the attempts made so far, then ack.
    /// </summary>
    public sealed record Delay(TimeSpan For, string Reason, string? Id, int Attempts) : Disposition(Id)
    {
        public override JobOutcome Outcome => JobOutcome.Delayed;
    }

    /// <summary>Give the job back to the queue unanswered.</summary>
    public sealed record Requeue(string Reason, string? Id) : Disposition(Id)
    {
        public override JobOutcome Outcome => JobOutcome.Requeued;
    }
}

/// <summary>
/// One delivery as the handler sees it: no broker types. The body is valid only while the handler runs;
/// <c>EnqueuedAt</c> is the message's timestamp property, when the producer set one; <c>PriorAttempts</c> the calls made
/// for it before it waited in a delay queue.
/// </summary>
public readonly record struct JobDelivery(ReadOnlyMemory<byte> Body, bool Redelivered, long ReceivedTimestamp, DateTimeOffset? EnqueuedAt = null, int PriorAttempts = 0);
