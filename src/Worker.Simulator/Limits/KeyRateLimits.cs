namespace Worker.Simulator.Limits;

/// <summary>
/// The request and token buckets of one API key. Both are checked and charged under one lock, so a request is either
/// charged to both or to neither.
/// </summary>
internal sealed class KeyRateLimits(TokenBucket? requests, TokenBucket? tokens)
{
    private readonly Lock _lock = new();

    public RateLimitDecision Admit(long tokenCost, TimeSpan now)
    {
        lock (_lock)
        {
            RateLimitRefusal? refusal = null;
            if (requests is not null && !requests.Fits(1, now))
            {
                refusal = new(RateLimitType.Requests, requests.PerMinute, requests.Used(now), 1, requests.UntilFits(1, now));
            }
            else if (tokens is not null && !tokens.Fits(tokenCost, now))
            {
                var retryAfter = tokens.CanEverFit(tokenCost) ? tokens.UntilFits(tokenCost, now) : (TimeSpan?)null;
                refusal = new(RateLimitType.Tokens, tokens.PerMinute, tokens.Used(now), tokenCost, retryAfter);
            }
            else
            {
                requests?.Take(1, now);
                tokens?.Take(tokenCost, now);
            }

            var charged = refusal is null && tokens is not null ? tokenCost : 0;
            return new RateLimitDecision(refusal, requests?.State(now), tokens?.State(now), charged);
        }
    }
}
