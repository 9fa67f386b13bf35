using System.ComponentModel.DataAnnotations;

namespace Worker.Connector.Client;

/// <summary>
/// Where and how to reach the connector runtime. Unset endpoint values fall back to the original SDKs'
/// environment variables (<c>VASTAR_SOCKET_PATH</c>, <c>VASTAR_USE_TCP</c>, <c>VASTAR_TCP_PORT</c>), then to their defaults.
/// </summary>
public sealed class RuntimeClientOptions
{
    /// <summary>Configuration section bound by <c>AddConnectorClient</c>.</summary>
    public const string SectionName = "Runtime";

    public const string DefaultSocketPath = "/tmp/vastar-connector-runtime.sock";
    public const int DefaultTcpPort = 5000;

    /// <summary>Unix socket path. Default: <c>VASTAR_SOCKET_PATH</c>, else <see cref="DefaultSocketPath"/>.</summary>
    public string? SocketPath { get; set; }

    /// <summary>Use TCP on loopback instead of the Unix socket. Default: <c>VASTAR_USE_TCP</c>, else false.</summary>
    public bool? UseTcp { get; set; }

    /// <summary>TCP host (only with <see cref="UseTcp"/>). Default 127.0.0.1.</summary>
    public string TcpHost { get; set; } = "127.0.0.1";

    /// <summary>TCP port. Default: <c>VASTAR_TCP_PORT</c>, else 5000.</summary>
    [Range(1, 65535)]
    public int? TcpPort { get; set; }

    /// <summary>
    /// Connections kept to the runtime. Ours multiplexes any number of requests on one connection; the original
    /// answers one request at a time per connection, so concurrency against it needs several. Default 4.
    /// </summary>
    [Range(1, 1024)]
    public int PoolSize { get; set; } = 4;

    /// <summary>Requests in flight on one connection; 0 = unlimited (our runtime). Set 1 for the original runtime.</summary>
    [Range(0, 1_000_000)]
    public int MaxInFlightPerConnection { get; set; }

    /// <summary>Per-request timeout when the call does not give one; sent as deadline_at_ms and enforced here. Default 120 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "1.00:00:00")]
    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>How long a connect attempt may take. Default 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>First delay before reconnecting after a failed connect; doubles per failure up to <see cref="MaxReconnectDelay"/>. Default 100 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Upper bound of the reconnect backoff. Default 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Check, on a Unix socket, who serves it before sending anything (Linux): the socket file and the peer process
    /// must belong to this process's user, root, the owner of a directory only that owner can write to, or
    /// <see cref="AllowedPeerUids"/>. Default true.
    /// </summary>
    public bool VerifyPeer { get; set; } = true;

    /// <summary>Further user ids trusted to serve the runtime socket (e.g. a runtime running as its own user in a shared directory). Default none.</summary>
    public IList<uint> AllowedPeerUids { get; } = [];

    /// <summary>tenant_id sent when a call gives none (required by the protocol). Default "default".</summary>
    [Required(AllowEmptyStrings = false)]
    public string TenantId { get; set; } = "default";

    /// <summary>workspace_id sent when a call gives none. Default none.</summary>
    public string? WorkspaceId { get; set; }
}
