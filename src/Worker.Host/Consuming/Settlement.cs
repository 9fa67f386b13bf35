using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using Worker.Host.Contracts;
using Worker.Host.Handling;
using Worker.Host.Publishing;
using Worker.Host.Resilience;

namespace Worker.Host.Consuming;

/// <summary>
/// Carries out a <see cref="Disposition"/> on the channel a delivery came from: publish what it says (confirmed),
/// then ack; or nack with requeue. A result the broker refuses because of its own content dead-letters the job.
/// </summary>
internal sealed partial class Settlement
{
    private readonly ResultPublisher _publisher;
    private readonly ILogger _logger;

    public Settlement(ResultPublisher publisher, ILogger logger)
    {
        _publisher = publisher;
        _logger = logger;
    }

    /// <summary>Returns the outcome that actually happened. Throws when a publish was not confirmed (the caller requeues).</summary>
    public async Task<JobOutcome> SettleAsync(IChannel channel, BasicDeliverEventArgs delivery, Disposition disposition, CancellationToken cancellationToken)
    {
        switch (disposition)
        {
            case Disposition.Requeue:
                await NackAsync(channel, delivery.DeliveryTag, requeue: true);
                return JobOutcome.Requeued;
            case Disposition.DeadLetter dead:
                await _publisher.DeadLetterAsync(delivery.Body, delivery.BasicProperties, dead.Reason, cancellationToken);
                if (dead.Result is { } failed)
                {
                    await TryPublishAsync(failed, cancellationToken);
                }

                await AckAsync(channel, delivery.DeliveryTag);
                return JobOutcome.DeadLettered;
            case Disposition.Delay delay:
                await _publisher.DelayAsync(delivery.Body, delivery.BasicProperties, DelayQueues.TierFor(delay.For), delay.Attempts, delay.Reason,
                    EnqueuedAt(delivery.BasicProperties) ?? DateTimeOffset.UtcNow, cancellationToken);
                await AckAsync(channel, delivery.DeliveryTag);
                return JobOutcome.Delayed;
            case Disposition.Answer answer:
                if (!await TryPublishAsync(answer.Result, cancellationToken))
                {
                    var reason = $"unpublishable_result: the broker refused the result for job {answer.Result.Id}";
                    await _publisher.DeadLetterAsync(delivery.Body, delivery.BasicProperties, reason, cancellationToken);
                    await AckAsync(channel, delivery.DeliveryTag);
                    return JobOutcome.DeadLettered;
                }

                await AckAsync(channel, delivery.DeliveryTag);
                return answer.Outcome;
            default:
                throw new InvalidOperationException($"Unknown disposition {disposition.GetType().Name}.");
        }
    }

    /// <summary>The message's timestamp property, when the producer set one.</summary>
    public static DateTimeOffset? EnqueuedAt(IReadOnlyBasicProperties properties) =>
        properties.IsTimestampPresent() && properties.Timestamp.UnixTime > 0 ? DateTimeOffset.FromUnixTimeSeconds(properties.Timestamp.UnixTime) : null;

    /// <summary>False when the result itself cannot be published (the broker or the client refused it); throws on a broker outage.</summary>
    private async Task<bool> TryPublishAsync(JobResult result, CancellationToken cancellationToken)
    {
        try
        {
            await _publisher.PublishResultAsync(result, cancellationToken);
            return true;
        }
        catch (Exception ex) when (BrokerFailures.IsCausedByMessage(ex))
        {
            LogUnpublishable(_logger, result.Id, SafeText.Escape(ex.Message));
            return false;
        }
    }

    public async Task AckAsync(IChannel channel, ulong deliveryTag)
    {
        try
        {
            await channel.BasicAckAsync(deliveryTag, multiple: false, CancellationToken.None);
        }
        catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException)
        {
            // The channel died after the result was confirmed: the broker redelivers the job (marked redelivered)
            // and it is answered again. At-least-once, never lost.
            LogAckLost(_logger, deliveryTag, ex.Message);
        }
    }

    public static async Task NackAsync(IChannel channel, ulong deliveryTag, bool requeue)
    {
        try
        {
            await channel.BasicNackAsync(deliveryTag, multiple: false, requeue, CancellationToken.None);
        }
        catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException)
        {
            // Channel gone: the broker requeues every unacked delivery itself.
        }
    }

    [LoggerMessage(EventId = 211, Level = LogLevel.Error, Message = "The result for job {JobId} was refused by the broker ({Reason}); the job is dead-lettered")]
    private static partial void LogUnpublishable(ILogger logger, string jobId, string reason);

    [LoggerMessage(EventId = 207, Level = LogLevel.Warning, Message = "Ack for delivery {DeliveryTag} lost with the channel ({Reason}); the broker will redeliver it")]
    private static partial void LogAckLost(ILogger logger, ulong deliveryTag, string reason);
}
