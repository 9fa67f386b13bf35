namespace Worker.Simulator.Limits;

/// <summary>Why a request was refused, with the numbers OpenAI's 429 message quotes.</summary>
/// <param name="Type">The limit that was hit.</param>
/// <param name="Limit">That limit per minute.</param>
/// <param name="Used">Units consumed and not yet refilled.</param>
/// <param name="Requested">What the request needed (1 request, or its estimated tokens).</param>
/// <param name="RetryAfter">When it would fit; null when it never can (larger than the bucket: "Request too large").</param>
internal readonly record struct RateLimitRefusal(RateLimitType Type, long Limit, long Used, long Requested, TimeSpan? RetryAfter);
