using Worker.Connector.Protocol;

namespace Worker.Runtime.Configuration;

/// <summary>
/// Settings of the connector runtime (configuration section <c>Runtime</c>). The endpoint keys (<c>SocketPath</c>,
/// <c>UseTcp</c>, <c>TcpPort</c>) are the ones the client side reads from the same section, so one section describes
/// both ends; unset endpoint values fall back to the original SDKs' environment variables, then to their defaults.
/// </summary>
public sealed class RuntimeServerOptions
{
    /// <summary>Configuration section, shared with the client settings.</summary>
    public const string SectionName = "Runtime";

    /// <summary>Room left in a 10 MiB frame for the JSON envelope, the headers and the FlatBuffers table.</summary>
    public const int ResponseFrameReserve = 64 * 1024;

    /// <summary>The largest accepted <see cref="MaxResponseBytes"/>: what still fits one response frame.</summary>
    public const long MaxResponseBytesLimit = FrameCodec.MaxPayloadLength - ResponseFrameReserve;

    /// <summary>Unix socket path. Default: <c>VASTAR_SOCKET_PATH</c>, else <c>/tmp/vastar-connector-runtime.sock</c>.</summary>
    public string? SocketPath { get; set; }

    /// <summary>Listen on the Unix socket. Default true.</summary>
    public bool ListenUnix { get; set; } = true;

    /// <summary>Also listen on TCP. Default: <c>VASTAR_USE_TCP</c>, else false.</summary>
    public bool? UseTcp { get; set; }

    /// <summary>TCP port; 0 picks a free one (see <see cref="Server.RuntimeServer.TcpPort"/>). Default: <c>VASTAR_TCP_PORT</c>, else 5000.</summary>
    public int? TcpPort { get; set; }

    /// <summary>TCP bind address. Default loopback only: the runtime performs HTTP for whoever connects.</summary>
    public string TcpBindAddress { get; set; } = "127.0.0.1";

    /// <summary>Socket file permissions, octal. Default 0660; anything granting write to others is rejected.</summary>
    public string SocketFileMode { get; set; } = "0660";

    /// <summary>
    /// Group given to the socket file, so members of it may connect: a numeric id, or a name listed in /etc/group
    /// (groups known only through NSS, e.g. LDAP, need the numeric id). Default: unchanged.
    /// </summary>
    public string? SocketGroup { get; set; }

    /// <summary>Requests in flight across all connections; at the cap, connections stop reading new requests. Default 1024.</summary>
    public int MaxInFlight { get; set; } = 1024;

    /// <summary>
    /// Requests in flight on one connection; at the cap that connection stops reading new requests, so one client
    /// cannot take every credit. 0 (default) = a quarter of <see cref="MaxInFlight"/>, at least 1. The key is shared
    /// with the client, where it is the same limit seen from the other end (and 0 means unlimited).
    /// </summary>
    public int MaxInFlightPerConnection { get; set; }

    /// <summary>
    /// Open client connections; further ones are closed as soon as they are accepted (logged once per burst, counted
    /// in <c>worker.runtime.connections.rejected</c>). Default 512.
    /// </summary>
    public int MaxConnections { get; set; } = 512;

    /// <summary>A connection with nothing in flight that sends no frame for this long is closed. Default 5 min.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A frame whose first bytes arrived must be complete within this, or its connection is closed. Default 30 s.</summary>
    public TimeSpan FrameTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Writing one answer may take this long; a client that does not read is disconnected after it. Default 30 s.</summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Bytes of answers ready but not yet written on one connection; above it the connection reads no new requests
    /// until the client catches up. Default 16 MiB (at least one whole frame, 10 MiB).
    /// </summary>
    public long MaxUnsentBytesPerConnection { get; set; } = 16L * 1024 * 1024;

    /// <summary>Send a CreditUpdate (type 4) when a connection opens. Default false: the original SDKs may not expect one.</summary>
    public bool SendCreditUpdates { get; set; }

    /// <summary>Hosts the <c>http</c> connector may call (<c>host</c>, <c>host:port</c> or <c>*.domain</c>); empty allows any.</summary>
    public IList<string> AllowedHosts { get; } = [];

    /// <summary>Largest upstream response body; a larger one fails Permanent. Default (and maximum) 10 MiB minus 64 KiB.</summary>
    public long MaxResponseBytes { get; set; } = MaxResponseBytesLimit;

    /// <summary>
    /// Time limit for a request that carries no deadline (deadline_at_ms = 0), and the cap on any client deadline, so
    /// no request can hold a credit longer. Default 120 s.
    /// </summary>
    public TimeSpan UpstreamTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>How long upstream connections are reused before being replaced (picks up DNS changes). Default 2 min.</summary>
    public TimeSpan PooledConnectionLifetime { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>The per-connection in-flight cap in force: <see cref="MaxInFlightPerConnection"/>, or its default.</summary>
    internal int EffectiveMaxInFlightPerConnection =>
        MaxInFlightPerConnection > 0 ? Math.Min(MaxInFlightPerConnection, MaxInFlight) : Math.Max(1, MaxInFlight / 4);

    /// <summary>On stop, how long requests in flight may still finish; the rest are answered Transient. Default 30 s.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
