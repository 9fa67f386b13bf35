namespace Worker.Connector.Protocol;

/// <summary>The frame's type byte.</summary>
public enum MessageType : byte
{
    ExecuteRequest = 0,
    ExecuteResponse = 1,
    HealthCheck = 2,
    HealthResponse = 3,
    CreditUpdate = 4,

    // Streamed responses: our extension, negotiated per request (StreamProtocol); the original never sends these.

    /// <summary>Runtime → client: the request is answered as a stream.</summary>
    StreamStart = 5,

    /// <summary>Runtime → client: the upstream's status and headers.</summary>
    StreamHead = 6,

    /// <summary>Runtime → client: body bytes, within the stream's window.</summary>
    StreamChunk = 7,

    /// <summary>Runtime → client: the stream's last frame (success or an error class).</summary>
    StreamEnd = 8,

    /// <summary>Client → runtime: more window for a stream.</summary>
    StreamWindow = 9,

    /// <summary>Client → runtime: abort a request.</summary>
    CancelRequest = 10,
}
