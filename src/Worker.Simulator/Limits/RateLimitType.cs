namespace Worker.Simulator.Limits;

/// <summary>Which limit refused a request; named as OpenAI's error <c>type</c> names it.</summary>
internal enum RateLimitType
{
    /// <summary>Requests per minute (RPM): <c>"type": "requests"</c>.</summary>
    Requests,

    /// <summary>Tokens per minute (TPM): <c>"type": "tokens"</c>.</summary>
    Tokens,
}
