namespace Worker.Host.Intake;

/// <summary>
/// Admission cannot happen within <c>Llm:Limits:MaxWait</c> (or before the job's deadline): the job should go back to
/// the broker for <see cref="Delay"/> instead of holding a slot.
/// </summary>
public sealed class AdmissionDeferredException : Exception
{
    public AdmissionDeferredException(TimeSpan delay, string reason, bool pastDeadline)
        : base($"admission deferred for {delay.TotalSeconds:0.###} s ({reason})")
    {
        Delay = delay;
        Reason = reason;
        PastDeadline = pastDeadline;
    }

    public AdmissionDeferredException()
        : this(TimeSpan.Zero, "unknown", false)
    {
    }

    public AdmissionDeferredException(string message)
        : base(message)
    {
        Reason = message;
    }

    public AdmissionDeferredException(string message, Exception innerException)
        : base(message, innerException)
    {
        Reason = message;
    }

    /// <summary>How long until admission is expected to be possible.</summary>
    public TimeSpan Delay { get; }

    /// <summary>Which limit holds the job: requests, tokens, rate_limited (a 429 hold), concurrency.</summary>
    public string Reason { get; } = "";

    /// <summary>True when the expected admission is after the job's deadline: the job expires instead.</summary>
    public bool PastDeadline { get; }
}
