namespace Worker.Simulator.Stats;

/// <summary>How a generation request was answered (one count per request).</summary>
public enum SimulatorOutcome
{
    /// <summary>Answered normally.</summary>
    Ok,

    /// <summary>429: an injected rate_limit fault, or over <c>Simulator:RateLimits</c>.</summary>
    RateLimit,

    /// <summary>500 server_error.</summary>
    ServerError,

    /// <summary>503: an injected fault, or every capacity slot busy (<c>Simulator:Capacity:Overflow = Reject</c>).</summary>
    Unavailable,

    /// <summary>Never answered until the client went away.</summary>
    Hang,

    /// <summary>Connection aborted (mid-stream, or before answering a non-streaming request).</summary>
    Drop,

    /// <summary>A non-JSON data event mid-stream (or an invalid JSON body).</summary>
    Malformed,

    /// <summary>An in-stream error event, then the end of the stream without [DONE].</summary>
    ErrorEvent,

    /// <summary>400: invalid JSON, missing or mistyped parameters, bad X-Sim-* header.</summary>
    BadRequest,

    /// <summary>401 (or the Gemini equivalent): missing or wrong API key.</summary>
    Unauthorized,
}
