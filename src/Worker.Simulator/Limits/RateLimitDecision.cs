namespace Worker.Simulator.Limits;

/// <summary>The rate limiter's answer to one request: admitted or why not, and the bucket states for the headers.</summary>
/// <param name="Refusal">Null when admitted (both buckets charged); otherwise nothing was charged.</param>
/// <param name="Requests">The request bucket after the decision; null when there is no request limit.</param>
/// <param name="Tokens">The token bucket after the decision; null when there is no token limit.</param>
/// <param name="TokensCharged">Tokens taken from the token bucket (0 when refused or without a token limit).</param>
/// <param name="SendRetryAfter">For a refusal: whether to send <c>retry-after</c> / <c>retry-after-ms</c>.</param>
internal readonly record struct RateLimitDecision(
    RateLimitRefusal? Refusal,
    BucketState? Requests,
    BucketState? Tokens,
    long TokensCharged,
    bool SendRetryAfter = false)
{
    public bool Admitted => Refusal is null;
}
