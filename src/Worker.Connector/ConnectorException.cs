namespace Worker.Connector;

/// <summary>
/// A failed runtime call or HTTP exchange, classified. Messages never carry secrets: callers build them from
/// URLs, status codes and runtime messages, never from request headers.
/// </summary>
public sealed class ConnectorException : Exception
{
    public ConnectorException(ErrorClass errorClass, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorClass = errorClass;
    }

    public ConnectorException()
        : this(ErrorClass.Transient, "Connector call failed.")
    {
    }

    public ConnectorException(string message)
        : this(ErrorClass.Transient, message)
    {
    }

    public ConnectorException(string message, Exception innerException)
        : this(ErrorClass.Transient, message, innerException)
    {
    }

    public ErrorClass ErrorClass { get; }

    /// <summary>Transient, RateLimited and Timeout.</summary>
    public bool IsRetryable => ErrorClass.IsRetryable();

    /// <summary>The IPC request id, when the failure belongs to one request.</summary>
    public ulong? RequestId { get; init; }

    /// <summary>The upstream HTTP status, when the failure is an HTTP status.</summary>
    public int? StatusCode { get; init; }

    /// <summary>
    /// The runtime itself could not be reached or the connection to it broke: an outage of the local daemon, not a
    /// verdict on the request. Callers should wait and resend rather than report the request as failed.
    /// </summary>
    public bool RuntimeUnavailable { get; init; }

    /// <summary>The upstream's Retry-After, parsed (seconds or HTTP date), when it sent one.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>The upstream's rate-limit headers on this failure (and, on a 429, which limit was hit), when it sent them.</summary>
    public Http.RateLimitSnapshot? RateLimit { get; init; }
}
