namespace Worker.Runtime.Http;

/// <summary>The upstream body is over <c>Runtime:MaxResponseBytes</c>; the request fails Permanent.</summary>
internal sealed class ResponseTooLargeException : Exception
{
    public ResponseTooLargeException()
    {
    }

    public ResponseTooLargeException(string message)
        : base(message)
    {
    }

    public ResponseTooLargeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
