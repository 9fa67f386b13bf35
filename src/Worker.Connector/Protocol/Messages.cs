namespace Worker.Connector.Protocol;

/// <summary>ExecuteRequest (type 0). Strings are required where the schema says so; see <see cref="IpcSerializer"/>.</summary>
public sealed record ExecuteRequestMessage
{
    public required ulong RequestId { get; init; }
    public required string TenantId { get; init; }
    public string? WorkspaceId { get; init; }
    public string? TraceId { get; init; }
    public required string ConnectorName { get; init; }
    public required string Operation { get; init; }

    /// <summary>Absolute deadline, Unix epoch milliseconds; 0 = none.</summary>
    public ulong DeadlineAtMs { get; init; }

    public ReadOnlyMemory<byte> Payload { get; init; }
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];
}

/// <summary>ExecuteResponse (type 1).</summary>
public sealed record ExecuteResponseMessage
{
    public required ulong RequestId { get; init; }
    public ErrorClass ErrorClass { get; init; }
    public string? ErrorMessage { get; init; }
    public ReadOnlyMemory<byte> Payload { get; init; }
    public ulong DurationUs { get; init; }
}

/// <summary>HealthCheckResponse (type 3). It carries no request id: answers come in the order of the checks.</summary>
public sealed record HealthCheckResponseMessage(bool Healthy, string? Message, uint ActiveRequests, uint AvailableCredits);

/// <summary>CreditUpdate (type 4), sent by a runtime to tell a client how many more requests it will take.</summary>
public sealed record CreditUpdateMessage(int CreditDelta, uint TotalCredits);

/// <summary>StreamStart (type 5): the runtime answers the request as a stream, with <paramref name="Window"/> bytes of window.</summary>
public sealed record StreamStartMessage(ulong RequestId, uint Window);

/// <summary>StreamHead (type 6): the upstream's status and headers.</summary>
public sealed record StreamHeadMessage
{
    public required ulong RequestId { get; init; }
    public int StatusCode { get; init; }
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];
}

/// <summary>StreamEnd (type 8): the stream's last frame.</summary>
public sealed record StreamEndMessage
{
    public required ulong RequestId { get; init; }
    public ErrorClass ErrorClass { get; init; }
    public string? ErrorMessage { get; init; }
    public ulong DurationUs { get; init; }
}

/// <summary>StreamWindow (type 9): the client consumed <paramref name="Bytes"/> more bytes of the stream.</summary>
public sealed record StreamWindowMessage(ulong RequestId, uint Bytes);

/// <summary>CancelRequest (type 10): stop the request.</summary>
public sealed record CancelRequestMessage(ulong RequestId);
