namespace Worker.Connector.Protocol;

/// <summary>The byte stream broke the framing or a payload is not a valid message. The connection is not usable after it.</summary>
public sealed class ProtocolException : Exception
{
    public ProtocolException()
        : this("IPC protocol error.")
    {
    }

    public ProtocolException(string message)
        : base(message)
    {
    }

    public ProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The request id, when it could be read before the payload was found invalid.</summary>
    public ulong? RequestId { get; init; }
}
