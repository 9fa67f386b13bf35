namespace Worker.Simulator.Faults;

/// <summary>The fault chosen for one request and its parameters.</summary>
/// <param name="Mode">What goes wrong.</param>
/// <param name="RetryAfterSeconds">Retry-After of rate_limit.</param>
/// <param name="AfterTokens">For in-stream faults: content tokens sent before the fault; null means half the answer.</param>
/// <param name="TokensLimit">For rate_limit: the tokens-per-minute limit was hit (type <c>tokens</c>), not requests.</param>
/// <param name="ShouldRetry">For error answers: the <c>x-should-retry</c> header to send, or null for none.</param>
/// <param name="RetryAfterMs">For error answers: the <c>retry-after-ms</c> header to send, or null for none.</param>
internal readonly record struct FaultPlan(FaultMode Mode, int RetryAfterSeconds, int? AfterTokens, bool TokensLimit = false, bool? ShouldRetry = null, int? RetryAfterMs = null)
{
    public static FaultPlan None => default;

    /// <summary>Whether the fault happens inside an otherwise normal stream.</summary>
    public bool IsInStream => Mode is FaultMode.Drop or FaultMode.Malformed or FaultMode.ErrorEvent;

    /// <summary>The step (number of content tokens already sent) at which an in-stream fault fires.</summary>
    public int TriggerStep(int totalSteps) => Math.Clamp(AfterTokens ?? Math.Max(1, totalSteps / 2), 0, totalSteps);
}
