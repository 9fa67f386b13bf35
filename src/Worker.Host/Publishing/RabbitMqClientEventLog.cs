using System.Diagnostics.Tracing;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Worker.Host.Publishing;

/// <summary>
/// RabbitMQ.Client's own event source (<c>rabbitmq-client</c>) into the worker's log: the steps of automatic recovery
/// ("Performing automatic recovery", "Connection recovery completed") and the errors it swallows and retries on
/// (a failed connect or handshake, a topology or consumer recovery that failed) are otherwise invisible, and a stall
/// after a partition cannot be explained without their timestamps.
/// </summary>
public sealed partial class RabbitMqClientEventLog : EventListener
{
    private const string SourceName = "rabbitmq-client";
    private readonly List<EventSource> _pending = [];
    private readonly ILogger? _logger;

    public RabbitMqClientEventLog(ILogger logger)
    {
        // OnEventSourceCreated runs from the base constructor, before this one: sources seen then are enabled here.
        EventSource[] pending;
        lock (_pending)
        {
            _logger = logger;
            pending = [.. _pending];
            _pending.Clear();
        }

        foreach (var source in pending)
        {
            EnableEvents(source, EventLevel.Informational);
        }
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name != SourceName)
        {
            return;
        }

        lock (_pending)
        {
            if (_logger is null)
            {
                _pending.Add(eventSource);
                return;
            }
        }

        EnableEvents(eventSource, EventLevel.Informational);
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (_logger is not { } logger || eventData.EventSource.Name != SourceName || eventData.Payload is not { Count: > 0 } payload)
        {
            return;
        }

        var message = string.Join("; ", payload.Select(Format));
        if (message.Contains(nameof(RecoveryNotNeededException), StringComparison.Ordinal))
        {
            // Refused on purpose, once per RecoveryInterval: the provider logs it at Debug.
            return;
        }

        if (eventData.Level <= EventLevel.Warning)
        {
            LogClientWarning(logger, eventData.Level.ToString(), message);
        }
        else
        {
            LogClientInfo(logger, message);
        }
    }

    private static string Format(object? value) => value switch
    {
        null => "",
        IDictionary<string, object?> fields => string.Join(", ", fields.Where(f => f.Key is "Type" or "Message" or "InnerException").Select(f => $"{f.Key}={Format(f.Value)}")),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
    };

    [LoggerMessage(EventId = 318, Level = LogLevel.Information, Message = "RabbitMQ client: {Message}")]
    private static partial void LogClientInfo(ILogger logger, string message);

    [LoggerMessage(EventId = 319, Level = LogLevel.Warning, Message = "RabbitMQ client {Level}: {Message}")]
    private static partial void LogClientWarning(ILogger logger, string level, string message);
}
