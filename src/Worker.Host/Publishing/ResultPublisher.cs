using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Registry;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using Worker.Host.Configuration;
using Worker.Host.Contracts;
using Worker.Host.Resilience;
using Worker.Host.Streaming;

namespace Worker.Host.Publishing;

/// <summary>
/// Publishes results and dead letters on a confirm-tracking channel: each publish returns only once the broker has
/// confirmed it (or throws), under a timeout token, through the <c>publish</c> pipeline, so the caller acks only what
/// is safe. Everything copied from a job into properties and headers is bounded in bytes.
/// </summary>
public sealed class ResultPublisher : IDeltaPublisher, IAsyncDisposable
{
    /// <summary>All headers a dead letter carries over from its job, together (the broker's frame_max is 128 KiB).</summary>
    public const int MaxCopiedHeaderBytes = 16 * 1024;

    /// <summary>Longest <c>x-reject-reason</c>, in UTF-8 bytes.</summary>
    public const int MaxReasonBytes = 1024;

    private readonly RabbitMqConnectionProvider _connections;
    private readonly RabbitMqOptions _options;
    private readonly WorkerOptions _worker;
    private readonly ResiliencePipeline _pipeline;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly MessageIds _messageIds = new();
    private IChannel? _channel;

    // Cancelled when _channel closes (its connection dropped, or a channel error): publishes waiting for a confirm on
    // it fail at once instead of waiting out RabbitMq:PublishTimeout, and their jobs go back to the queue sooner.
    private CancellationTokenSource _channelClosed = new();

    public ResultPublisher(RabbitMqConnectionProvider connections, ResiliencePipelineProvider<string> pipelines, IOptions<RabbitMqOptions> options, IOptions<WorkerOptions> worker)
    {
        ArgumentNullException.ThrowIfNull(pipelines);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(worker);
        _connections = connections;
        _pipeline = pipelines.GetPipeline(PipelineNames.Publish);
        _options = options.Value;
        _worker = worker.Value;
    }

    /// <summary>Publishes a result (persistent, correlation id = job id, trace context injected by RabbitMQ.Client's publisher span).</summary>
    public async Task PublishResultAsync(JobResult result, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(result);
        var body = ResultSerializer.Serialize(result, _worker.BatchResultFormat == BatchResultFormat.Batch);
        var properties = new BasicProperties
        {
            Persistent = true,
            ContentType = "application/json",
            // Job ids are at most JobContract.MaxIdBytes (255) bytes, tenants at most 128 characters: the parser checks.
            CorrelationId = result.Id,
            MessageId = _messageIds.Next(),
            Timestamp = new AmqpTimestamp(result.CompletedAt.ToUnixTimeSeconds()),
            Headers = new Dictionary<string, object?>
            {
                ["x-job-status"] = result.Status,
                ["x-tenant"] = result.Tenant,
                ["x-contract-version"] = JobContract.Version,
            },
        };
        await PublishAsync(_options.ResultsExchange, result.RoutingKey, properties, body, cancellationToken);
    }

    /// <summary>
    /// Publishes a delta (transient, correlation id = job id) and waits for its confirm: one try under the publish
    /// timeout, no retries (a retried delta could arrive twice; the final result carries the whole answer anyway).
    /// </summary>
    public async Task PublishDeltaAsync(JobDelta delta, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delta);
        var properties = new BasicProperties
        {
            Persistent = false,
            ContentType = "application/json",
            CorrelationId = delta.Id,
            Headers = new Dictionary<string, object?>
            {
                ["x-job-status"] = "delta",
                ["x-tenant"] = delta.Tenant,
                ["x-contract-version"] = JobContract.Version,
            },
        };
        await PublishOnceAsync((this, _options.ResultsExchange, JobDelta.RoutingKey, properties, ResultSerializer.Serialize(delta), false), cancellationToken);
    }

    /// <summary>Sends a job's original body to the dead-letter exchange with the reason in <c>x-reject-reason</c>.</summary>
    public async Task DeadLetterAsync(ReadOnlyMemory<byte> body, IReadOnlyBasicProperties original, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(original);
        var headers = CopyHeaders(original.Headers);
        headers["x-reject-reason"] = ClipUtf8(reason, MaxReasonBytes);
        headers["x-original-queue"] = _options.JobsQueue;
        headers["x-rejected-at"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
        var properties = new BasicProperties
        {
            Persistent = true,
            ContentType = original.ContentType,
            CorrelationId = original.CorrelationId,
            MessageId = original.MessageId,
            Headers = headers,
        };
        await PublishAsync(_options.DeadLetterExchange, _options.JobsQueue, properties, body, cancellationToken);
    }

    /// <summary>
    /// Sends a job to wait in the delay queue for <paramref name="tierSeconds"/>: same body and properties, the attempts
    /// made so far and the reason in headers, and a timestamp (the original, or when it was first received) so its
    /// default deadline keeps counting from the first delivery.
    /// </summary>
    public async Task DelayAsync(ReadOnlyMemory<byte> body, IReadOnlyBasicProperties original, int tierSeconds, int attempts, string reason, DateTimeOffset enqueuedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(original);
        var headers = CopyHeaders(original.Headers);
        headers[DelayQueues.AttemptsHeader] = attempts;
        headers[DelayQueues.ReasonHeader] = ClipUtf8(reason, MaxReasonBytes);
        var properties = new BasicProperties(original)
        {
            Persistent = true,
            Headers = headers,
            Timestamp = original.IsTimestampPresent() && original.Timestamp.UnixTime > 0
                ? original.Timestamp
                : new AmqpTimestamp(enqueuedAt.ToUnixTimeSeconds()),
            Expiration = null,
        };
        // Mandatory: should the delay queue be missing, the broker returns the job (the publish fails and the job is
        // requeued) instead of dropping it.
        await PublishAsync("", DelayQueues.Name(_options.JobsQueue, tierSeconds), properties, body, cancellationToken, mandatory: true);
    }

    /// <summary>The job's headers, unless together they exceed <see cref="MaxCopiedHeaderBytes"/>: then none, and a marker.</summary>
    internal static Dictionary<string, object?> CopyHeaders(IDictionary<string, object?>? source)
    {
        var headers = new Dictionary<string, object?>();
        if (source is null)
        {
            return headers;
        }

        var size = source.Sum(pair => Encoding.UTF8.GetByteCount(pair.Key) + 8 + SizeOf(pair.Value));
        if (size > MaxCopiedHeaderBytes)
        {
            headers["x-original-headers-dropped"] = size;
            return headers;
        }

        foreach (var (key, value) in source)
        {
            headers[key] = value;
        }

        return headers;
    }

    /// <summary>Cuts text to at most <paramref name="maxBytes"/> UTF-8 bytes, on a character boundary.</summary>
    internal static string ClipUtf8(string text, int maxBytes)
    {
        if (Encoding.UTF8.GetByteCount(text) <= maxBytes)
        {
            return text;
        }

        var length = Math.Min(text.Length, maxBytes);
        while (length > 0 && Encoding.UTF8.GetByteCount(text.AsSpan(0, length)) > maxBytes - 3)
        {
            length--;
        }

        if (length > 0 && char.IsHighSurrogate(text[length - 1]))
        {
            length--;
        }

        return text[..length] + "…";
    }

    // An estimate of a header value's encoded size: exact for strings and byte arrays, recursive for tables and arrays.
    private static int SizeOf(object? value) => value switch
    {
        null => 1,
        string text => Encoding.UTF8.GetByteCount(text) + 5,
        byte[] bytes => bytes.Length + 5,
        IDictionary<string, object?> table => table.Sum(pair => Encoding.UTF8.GetByteCount(pair.Key) + 2 + SizeOf(pair.Value)) + 5,
        System.Collections.IEnumerable list => list.Cast<object?>().Sum(SizeOf) + 5,
        _ => 9,
    };

    private async Task PublishAsync(string exchange, string routingKey, BasicProperties properties, ReadOnlyMemory<byte> body, CancellationToken cancellationToken, bool mandatory = false)
    {
        var state = (Publisher: this, Exchange: exchange, RoutingKey: routingKey, Properties: properties, Body: body, Mandatory: mandatory);
        await _pipeline.ExecuteAsync(static async (s, token) => await PublishOnceAsync(s, token), state, cancellationToken);
    }

    private static async Task PublishOnceAsync(
        (ResultPublisher Publisher, string Exchange, string RoutingKey, BasicProperties Properties, ReadOnlyMemory<byte> Body, bool Mandatory) s, CancellationToken token)
    {
        var (channel, closed) = await s.Publisher.GetChannelAsync(token);
        // The connection's loss fails the confirm at once too: a channel's own close can come only when recovery
        // gives it up, and a publish must not wait out its timeout on a dead socket.
        var lost = s.Publisher._connections.ConnectionLost;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token, closed, lost);
        timeout.CancelAfter(s.Publisher._options.PublishTimeout);
        try
        {
            await channel.BasicPublishAsync(s.Exchange, s.RoutingKey, s.Mandatory, s.Properties, s.Body, timeout.Token);
        }
        catch (OperationCanceledException) when ((closed.IsCancellationRequested || lost.IsCancellationRequested) && !token.IsCancellationRequested)
        {
            // Not a timeout: the channel went away under the publish. A broker failure, so the publish
            // pipeline may retry it on a new channel, and otherwise the job is requeued.
            throw new AlreadyClosedException(channel.CloseReason ?? new ShutdownEventArgs(ShutdownInitiator.Library, 0, "channel closed while awaiting the confirm"));
        }
    }

    private async Task<(IChannel Channel, CancellationToken Closed)> GetChannelAsync(CancellationToken cancellationToken)
    {
        if (_channel is { IsOpen: true } open && Volatile.Read(ref _channelClosed) is { IsCancellationRequested: false } live)
        {
            return (open, live.Token);
        }

        await _lock.WaitAsync(cancellationToken);
        try
        {
            if (_channel is { IsOpen: true } again && _channelClosed is { IsCancellationRequested: false } stillLive)
            {
                return (again, stillLive.Token);
            }

            var connection = await _connections.GetAsync(cancellationToken);
            if (!connection.IsOpen)
            {
                // The connection is recovering; its channels come back with it. The pipeline retries.
                throw new AlreadyClosedException(connection.CloseReason ?? new ShutdownEventArgs(ShutdownInitiator.Library, 0, "connection recovering"));
            }

            if (_channel is { } stale)
            {
                // Closed by a channel-level error, or shut down and since recovered: replace it.
                await stale.DisposeAsync();
            }

            var channel = await connection.CreateChannelAsync(
                new CreateChannelOptions(
                    publisherConfirmationsEnabled: true,
                    publisherConfirmationTrackingEnabled: true,
                    outstandingPublisherConfirmationsRateLimiter: new ThrottlingRateLimiter(_options.MaxOutstandingConfirms),
                    consumerDispatchConcurrency: 1),
                cancellationToken);

            // Confirms awaited on a channel that shut down never arrive: the shutdown cancels this channel's token,
            // failing what is pending at once. Automatic recovery would reopen the same IChannel object, but a
            // cancelled token makes the next publish replace it with a new channel (and a new token) instead.
            var closed = new CancellationTokenSource();
            // Not awaited, like the connection's loss: the client closes the channel only once its handlers have returned.
            channel.ChannelShutdownAsync += (_, _) =>
            {
                _ = closed.CancelAsync();
                return Task.CompletedTask;
            };
            // The previous source is not disposed: a publish that failed on it may still be unwinding with its token.
            Volatile.Write(ref _channelClosed, closed);
            _channel = channel;
            return (channel, closed.Token);
        }
        finally
        {
            _lock.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_channel is { } channel)
        {
            await channel.DisposeAsync();
        }

        _channelClosed.Dispose();
        _lock.Dispose();
    }
}
