namespace Worker.Simulator.Limits;

/// <summary>One bucket as the <c>x-ratelimit-*</c> headers report it.</summary>
/// <param name="Limit">Limit per minute (<c>x-ratelimit-limit-*</c>).</param>
/// <param name="Remaining">Whole units left (<c>x-ratelimit-remaining-*</c>).</param>
/// <param name="Reset">Time until the bucket is full again (<c>x-ratelimit-reset-*</c>).</param>
internal readonly record struct BucketState(long Limit, long Remaining, TimeSpan Reset);
