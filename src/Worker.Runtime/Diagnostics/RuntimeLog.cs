using Microsoft.Extensions.Logging;
using Worker.Connector;

namespace Worker.Runtime.Diagnostics;

/// <summary>
/// Every log line of the runtime (source-generated). Per-request lines are Debug: a busy runtime must not spam
/// Information. Nothing here takes request headers or bodies, which carry credentials.
/// </summary>
internal static partial class RuntimeLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Connector runtime listening on Unix socket {Path} (mode {Mode}, group {Group})")]
    public static partial void ListeningUnix(ILogger logger, string path, string mode, string group);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Connector runtime listening on TCP {EndPoint}")]
    public static partial void ListeningTcp(ILogger logger, string endPoint);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Runtime:TcpBindAddress {Address} is not a loopback address: anyone who can reach it can make HTTP requests through this runtime")]
    public static partial void NonLoopbackBind(ILogger logger, string address);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Removed stale socket file {Path} (nothing was listening on it)")]
    public static partial void RemovedStaleSocket(ILogger logger, string path);

    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "Connection {ConnectionId} opened ({Transport})")]
    public static partial void ConnectionOpened(ILogger logger, long connectionId, string transport);

    [LoggerMessage(EventId = 6, Level = LogLevel.Debug, Message = "Connection {ConnectionId} closed")]
    public static partial void ConnectionClosed(ILogger logger, long connectionId);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "Closing connection {ConnectionId}: {Reason}")]
    public static partial void ProtocolViolation(ILogger logger, long connectionId, string reason);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "Rejected request {RequestId} on connection {ConnectionId}: {Reason}")]
    public static partial void RejectedRequest(ILogger logger, ulong requestId, long connectionId, string reason);

    [LoggerMessage(EventId = 9, Level = LogLevel.Debug, Message = "Request {RequestId} {Connector}.{Operation} answered {Outcome} in {DurationMs:0.0} ms")]
    public static partial void RequestAnswered(ILogger logger, ulong requestId, string connector, string operation, ErrorClass outcome, double durationMs);

    [LoggerMessage(EventId = 10, Level = LogLevel.Debug, Message = "HTTP {Method} {Url} answered {StatusCode} ({BodyBytes} body bytes)")]
    public static partial void HttpAnswered(ILogger logger, string method, string url, int statusCode, long bodyBytes);

    [LoggerMessage(EventId = 11, Level = LogLevel.Debug, Message = "HTTP {Method} {Url} failed ({Outcome}): {Reason}")]
    public static partial void HttpFailed(ILogger logger, string method, string url, ErrorClass outcome, string reason);

    [LoggerMessage(EventId = 12, Level = LogLevel.Debug, Message = "Could not send the answer to request {RequestId} on connection {ConnectionId}: {Reason}")]
    public static partial void AnswerLost(ILogger logger, ulong requestId, long connectionId, string reason);

    [LoggerMessage(EventId = 13, Level = LogLevel.Information, Message = "Connector runtime stopping: draining {Active} requests in flight (up to {DrainSeconds} s)")]
    public static partial void Draining(ILogger logger, int active, double drainSeconds);

    [LoggerMessage(EventId = 14, Level = LogLevel.Warning, Message = "Drain time is up: answering {Remaining} requests still in flight with Transient (runtime shutting down)")]
    public static partial void DrainTimedOut(ILogger logger, int remaining);

    [LoggerMessage(EventId = 15, Level = LogLevel.Information, Message = "Connector runtime stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(EventId = 16, Level = LogLevel.Error, Message = "Request {RequestId} failed unexpectedly")]
    public static partial void RequestCrashed(ILogger logger, ulong requestId, Exception exception);

    [LoggerMessage(EventId = 17, Level = LogLevel.Error, Message = "Accepting a connection on the {Listener} listener failed; retrying")]
    public static partial void AcceptFailed(ILogger logger, string listener, Exception exception);

    [LoggerMessage(EventId = 18, Level = LogLevel.Debug, Message = "Connection {ConnectionId} ended: {Reason}")]
    public static partial void ConnectionEnded(ILogger logger, long connectionId, string reason);

    [LoggerMessage(EventId = 19, Level = LogLevel.Information, Message = "Host allowlist is empty (Runtime:AllowedHosts): the http connector may call any host")]
    public static partial void AnyHostAllowed(ILogger logger);

    [LoggerMessage(EventId = 20, Level = LogLevel.Error, Message = "Connection {ConnectionId} failed unexpectedly; closing it")]
    public static partial void ConnectionCrashed(ILogger logger, long connectionId, Exception exception);

    [LoggerMessage(EventId = 21, Level = LogLevel.Debug, Message = "Closing connection {ConnectionId}: {Reason}")]
    public static partial void ConnectionIdle(ILogger logger, long connectionId, string reason);

    [LoggerMessage(EventId = 22, Level = LogLevel.Warning, Message = "Closing connection {ConnectionId}: {Reason}")]
    public static partial void ConnectionTimedOut(ILogger logger, long connectionId, string reason);

    [LoggerMessage(EventId = 23, Level = LogLevel.Warning, Message = "Refusing connections: Runtime:MaxConnections ({MaxConnections}) are open; refusals are counted in worker.runtime.connections.rejected and logged again after the next accepted connection")]
    public static partial void RefusingConnections(ILogger logger, int maxConnections);

    [LoggerMessage(EventId = 24, Level = LogLevel.Information, Message = "Accepting connections again after refusing {Refused} over Runtime:MaxConnections")]
    public static partial void AcceptingAgain(ILogger logger, long refused);

    [LoggerMessage(EventId = 25, Level = LogLevel.Debug, Message = "Request {RequestId} on connection {ConnectionId} cancelled by the client")]
    public static partial void RequestCancelled(ILogger logger, ulong requestId, long connectionId);

    [LoggerMessage(EventId = 26, Level = LogLevel.Debug, Message = "HTTP {Method} {Url} streamed {StatusCode} ({BodyBytes} body bytes)")]
    public static partial void HttpStreamed(ILogger logger, string method, string url, int statusCode, long bodyBytes);
}
