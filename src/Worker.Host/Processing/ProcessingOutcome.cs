using Worker.Host.Contracts;

namespace Worker.Host.Processing;

/// <summary>What to do with a delivery after processing: publish <see cref="Result"/> then ack, or requeue it.</summary>
public sealed record ProcessingOutcome
{
    public JobResult? Result { get; private init; }

    /// <summary>Outage: give the job back to the queue (nack + requeue) without a result.</summary>
    public bool Requeue { get; private init; }

    public string? RequeueReason { get; private init; }

    public static ProcessingOutcome Publish(JobResult result) => new() { Result = result };

    public static ProcessingOutcome RequeueFor(string reason) => new() { Requeue = true, RequeueReason = reason };
}
