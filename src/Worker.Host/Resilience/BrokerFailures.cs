using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace Worker.Host.Resilience;

/// <summary>Tells a broker blip (worth riding out) from a failure the message itself caused (terminal for its job).</summary>
public static class BrokerFailures
{
    // AMQP reply codes a broker closes with because of what was sent: frame-error (501: a frame over frame_max),
    // precondition-failed (406: e.g. over max_message_size), syntax-error (502), command-invalid (503), not-allowed (530).
    private static readonly HashSet<ushort> MessageCaused = [406, 501, 502, 503, 530];

    /// <summary>The connection or channel went away, or a confirm did not arrive: try again after recovery.</summary>
    public static bool IsTransient(Exception exception) =>
        exception is AlreadyClosedException or OperationInterruptedException or PublishException or IOException or BrokerUnreachableException
        && !IsCausedByMessage(exception);

    /// <summary>The client refused the message (e.g. a short string over 255 bytes) or the broker closed on it.</summary>
    public static bool IsCausedByMessage(Exception exception) => exception switch
    {
        ArgumentException => true,
        AlreadyClosedException closed => closed.ShutdownReason is { } reason && IsMessageCode(reason),
        OperationInterruptedException interrupted => interrupted.ShutdownReason is { } reason && IsMessageCode(reason),
        _ => false,
    };

    private static bool IsMessageCode(ShutdownEventArgs reason) => reason.Initiator == RabbitMQ.Client.ShutdownInitiator.Peer && MessageCaused.Contains(reason.ReplyCode);
}
