namespace Worker.Simulator.Faults;

/// <summary>What goes wrong with a request. The wire names are listed in <see cref="FaultModeNames"/>.</summary>
internal enum FaultMode
{
    None,
    RateLimit,
    ServerError,
    Unavailable,
    Hang,
    Drop,
    Malformed,
    ErrorEvent,
}
