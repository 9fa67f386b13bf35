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
    // The client's two come first, so that 9 stays a type a runtime rejects from a client.

    /// <summary>Client → runtime: abort a request.</summary>
    CancelRequest = 5,

    /// <summary>Client → runtime: more window for a stream.</summary>
    StreamWindow = 6,

    /// <summary>Runtime → client: the request is answered as a stream.</summary>
    StreamStart = 7,

    /// <summary>Runtime → client: the upstream's status and headers.</summary>
    StreamHead = 8,

    /// <summary>Runtime → client: body bytes, within the stream's window.</summary>
    StreamChunk = 9,

    /// <summary>Runtime → client: the stream's last frame (success or an error class).</summary>
    StreamEnd = 10,
}
