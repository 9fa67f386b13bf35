namespace Worker.Connector.Client;

/// <summary>Per-call settings; unset values come from <see cref="RuntimeClientOptions"/>.</summary>
public sealed record RuntimeCallOptions
{
    public TimeSpan? Timeout { get; init; }
    public string? TenantId { get; init; }
    public string? WorkspaceId { get; init; }

    /// <summary>trace_id to send. When null, the W3C traceparent of the client span (or <see cref="System.Diagnostics.Activity.Current"/>) is sent.</summary>
    public string? TraceId { get; init; }

    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    /// <summary>
    /// For <see cref="RuntimeClient.ExecuteStreamAsync"/>: the window asked for, the most unread bytes of the stream
    /// this client holds at once. Null = <see cref="Protocol.StreamProtocol.DefaultWindow"/>.
    /// </summary>
    public int? StreamWindow { get; init; }
}
