namespace Worker.Connector;

/// <summary>How the runtime (or the client, for upstream HTTP statuses) classifies an outcome. Values are the wire values.</summary>
public enum ErrorClass : byte
{
    Success = 0,
    Transient = 1,
    Permanent = 2,
    RateLimited = 3,
    Timeout = 4,
    InvalidRequest = 5,
}

/// <summary>Helpers on <see cref="ErrorClass"/>.</summary>
public static class ErrorClassExtensions
{
    /// <summary>Transient, RateLimited and Timeout are worth another attempt; the rest are not.</summary>
    public static bool IsRetryable(this ErrorClass errorClass) =>
        errorClass is ErrorClass.Transient or ErrorClass.RateLimited or ErrorClass.Timeout;
}
