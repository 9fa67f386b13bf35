namespace Worker.Host.Intake;

/// <summary>The intake's answer to "may I start a job now, and if not, when?".</summary>
public readonly record struct Admission
{
    public bool Admitted { get; private init; }

    /// <summary>Why not (null when admitted).</summary>
    public string? Reason { get; private init; }

    /// <summary>When to ask again; null = unknown (e.g. until a probe succeeds).</summary>
    public DateTimeOffset? RetryAt { get; private init; }

    public static Admission Admit { get; } = new() { Admitted = true };

    public static Admission Wait(string reason, DateTimeOffset? retryAt = null) => new() { Reason = reason, RetryAt = retryAt };
}

/// <summary>Checks, during an outage, whether the runtime and the endpoint answer again.</summary>
public interface IOutageProbe
{
    Task<bool> IsHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken);
}
