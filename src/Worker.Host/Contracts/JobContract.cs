namespace Worker.Host.Contracts;

/// <summary>Version and limits of the job and result contract. Every limit is in the unit the broker uses.</summary>
public static class JobContract
{
    public const int Version = 1;

    /// <summary>A job id becomes the result's AMQP <c>correlation_id</c>, a short string: at most 255 bytes.</summary>
    public const int MaxIdBytes = 255;

    /// <summary>The tenant is copied into the result's <c>x-tenant</c> header.</summary>
    public const int MaxTenantLength = 128;

    /// <summary>The model names a span and a metric tag.</summary>
    public const int MaxModelLength = 256;

    /// <summary>Longest <c>ttl_seconds</c> a job may ask for.</summary>
    public static readonly TimeSpan MaxTtl = TimeSpan.FromDays(30);

    /// <summary>JSON nesting accepted in a job body.</summary>
    public const int MaxDepth = 64;
}

/// <summary>The <c>status</c> of a result.</summary>
public static class JobStatus
{
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";

    /// <summary>Stopped by a cancel request (<c>CancelRequest</c> on the control exchange); carries the partial text, if any.</summary>
    public const string Cancelled = "cancelled";
}

/// <summary>How a delivery ended: the one vocabulary of logs, metrics and dispositions.</summary>
public enum JobOutcome
{
    /// <summary>Answered with a succeeded result.</summary>
    Succeeded,

    /// <summary>Answered with a failed result (the endpoint refused it, retries ran out, or its parameters are invalid).</summary>
    Failed,

    /// <summary>Unreadable or unprocessable: sent to the dead-letter exchange with a reason.</summary>
    DeadLettered,

    /// <summary>Given back to the queue unanswered (outage, drain on stop, result not confirmed).</summary>
    Requeued,

    /// <summary>Sent back to the broker through a delay queue, to return when the endpoint's or its tenant's limit allows.</summary>
    Delayed,

    /// <summary>Answered with a cancelled result: a cancel request named it, before or while it ran.</summary>
    Cancelled,
}
