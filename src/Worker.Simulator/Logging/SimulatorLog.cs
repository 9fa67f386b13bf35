namespace Worker.Simulator.Logging;

/// <summary>Source-generated log messages (no formatting cost when the level is off).</summary>
internal static partial class SimulatorLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Injected fault {Mode} into {Path}")]
    public static partial void FaultInjected(ILogger logger, string mode, string? path);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Rejected request to {Path} with {StatusCode}: {Reason}")]
    public static partial void RequestRejected(ILogger logger, string? path, int statusCode, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "Client went away during {Path}")]
    public static partial void ClientDisconnected(ILogger logger, string? path);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "Simulator stopping: aborting a hanging request to {Path}")]
    public static partial void HangAbortedOnShutdown(ILogger logger, string? path);
}
