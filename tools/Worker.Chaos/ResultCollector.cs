using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace Worker.Chaos;

/// <summary>One result message as the worker published it.</summary>
public sealed record ObservedResult(
    string? MessageId,
    string Id,
    string Status,
    bool Redelivered,
    int Attempts,
    string? Content,
    string? ErrorClass,
    string? ErrorMessage,
    int Version,
    string? Tenant,
    string Json,
    IReadOnlyDictionary<string, string> Headers)
{
    public bool Succeeded => Status == "succeeded";
}

/// <summary>One dead-lettered message (its body kept when at most 64 KiB).</summary>
public sealed record ObservedDeadLetter(string? MessageId, string? Reason, long BodyLength, byte[]? Body, IReadOnlyDictionary<string, string> Headers);

/// <summary>
/// Consumes the results queue and the dead-letter queue (acking what it read) through a recovering connection, so a
/// broker restart costs nothing. A result the collector itself sees twice (redelivered to it after the restart) is
/// recognized by its message id and kept once: what remains are the worker's own duplicates.
/// </summary>
public sealed class ResultCollector : IAsyncDisposable
{
    private const int KeepBodyBytes = 64 * 1024;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private readonly IConnection _connection;
    private readonly Lock _lock = new();
    private readonly List<ObservedResult> _results = [];
    private readonly List<ObservedDeadLetter> _deadLetters = [];
    private readonly HashSet<string> _seenResults = new(StringComparer.Ordinal);
    private readonly HashSet<string> _seenDeadLetters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _succeededIds = new(StringComparer.Ordinal);
    private readonly List<IChannel> _channels = [];
    private readonly List<string> _unreadableExamples = [];
    private long _resultDeliveries;
    private long _unreadable;

    private ResultCollector(IConnection connection)
    {
        _connection = connection;
    }

    /// <summary>Distinct job ids with a succeeded result so far.</summary>
    public int SucceededIds => _succeededIds.Count;

    /// <summary>Every result delivery, including ones redelivered to the collector itself.</summary>
    public long ResultDeliveries => Interlocked.Read(ref _resultDeliveries);

    /// <summary>Result messages that were not JSON objects with an id and status.</summary>
    public long UnreadableResults => Interlocked.Read(ref _unreadable);

    /// <summary>Why results were unreadable (correlation id: error), for failure messages.</summary>
    public List<string> UnreadableExamples()
    {
        lock (_lock)
        {
            return [.. _unreadableExamples];
        }
    }

    public bool HasSucceeded(string id) => _succeededIds.ContainsKey(id);

    public static async Task<ResultCollector> StartAsync(ConnectionFactory factory, string resultsQueue, string deadLetterQueue, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        factory.AutomaticRecoveryEnabled = true;
        factory.TopologyRecoveryEnabled = true;
        factory.NetworkRecoveryInterval = TimeSpan.FromSeconds(1);
        var collector = new ResultCollector(await factory.CreateConnectionAsync(cancellationToken));
        await collector.ConsumeAsync(resultsQueue, collector.OnResult, cancellationToken);
        await collector.ConsumeAsync(deadLetterQueue, collector.OnDeadLetter, cancellationToken);
        return collector;
    }

    public List<ObservedResult> Results()
    {
        lock (_lock)
        {
            return [.. _results];
        }
    }

    public List<ObservedDeadLetter> DeadLetters()
    {
        lock (_lock)
        {
            return [.. _deadLetters];
        }
    }

    /// <summary>Messages now in <paramref name="queue"/> (ready, not unacked).</summary>
    public async Task<uint> QueueDepthAsync(string queue, CancellationToken cancellationToken = default)
    {
        await using var channel = await _connection.CreateChannelAsync(cancellationToken: cancellationToken);
        return (await channel.QueueDeclarePassiveAsync(queue, cancellationToken)).MessageCount;
    }

    /// <summary>Deletes queues and exchanges (best effort), e.g. at the end of a test on a shared broker.</summary>
    public async Task DeleteAsync(IEnumerable<string> queues, IEnumerable<string> exchanges)
    {
        try
        {
            await using var channel = await _connection.CreateChannelAsync();
            foreach (var queue in queues)
            {
                await channel.QueueDeleteAsync(queue);
            }

            foreach (var exchange in exchanges)
            {
                await channel.ExchangeDeleteAsync(exchange);
            }
        }
        catch (Exception ex) when (ex is OperationInterruptedException or AlreadyClosedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var channel in _channels)
        {
            try
            {
                await channel.CloseAsync();
            }
            catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or IOException)
            {
            }

            channel.Dispose();
        }

        try
        {
            await _connection.CloseAsync();
        }
        catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException or IOException)
        {
        }

        await _connection.DisposeAsync();
    }

    internal static Dictionary<string, string> ReadHeaders(IReadOnlyBasicProperties properties)
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        if (properties.Headers is null)
        {
            return headers;
        }

        foreach (var (key, value) in properties.Headers)
        {
            headers[key] = value switch
            {
                byte[] bytes => Encoding.UTF8.GetString(bytes),
                null => "",
                _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
            };
        }

        return headers;
    }

    private async Task ConsumeAsync(string queue, Func<BasicDeliverEventArgs, ObservedOutcome> handle, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var channel = await _connection.CreateChannelAsync(cancellationToken: cancellationToken);
            try
            {
                await channel.BasicQosAsync(0, 256, false, cancellationToken);
                var consumer = new AsyncEventingBasicConsumer(channel);
                consumer.ReceivedAsync += async (_, delivery) =>
                {
                    handle(delivery);
                    try
                    {
                        await channel.BasicAckAsync(delivery.DeliveryTag, false);
                    }
                    catch (Exception ex) when (ex is AlreadyClosedException or OperationInterruptedException)
                    {
                        // Redelivered to us after recovery; recognized and ignored then.
                    }
                };
                await channel.BasicConsumeAsync(queue, autoAck: false, consumer, cancellationToken);
                _channels.Add(channel);
                return;
            }
            catch (OperationInterruptedException) when (attempt < 40)
            {
                // A quorum queue declared a moment ago may not have its leader yet.
                channel.Dispose();
                await Task.Delay(250, cancellationToken);
            }
        }
    }

    private ObservedOutcome OnResult(BasicDeliverEventArgs delivery)
    {
        Interlocked.Increment(ref _resultDeliveries);
        var messageId = delivery.BasicProperties.MessageId;
        lock (_lock)
        {
            if (messageId is not null && !_seenResults.Add(messageId))
            {
                return ObservedOutcome.Duplicate;
            }
        }

        ObservedResult result;
        try
        {
            // Strict: a result must be valid UTF-8 JSON (invalid bytes throw here instead of becoming U+FFFD).
            var json = StrictUtf8.GetString(delivery.Body.Span);
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var error = root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object ? e : default;
            result = new ObservedResult(
                messageId,
                String(root, "id") ?? String(root, "custom_id") ?? throw new JsonException("no id"),
                String(root, "status") ?? throw new JsonException("no status"),
                root.TryGetProperty("redelivered", out var r) && r.ValueKind == JsonValueKind.True,
                root.TryGetProperty("attempts", out var a) && a.TryGetInt32(out var attempts) ? attempts : 0,
                String(root, "content"),
                error.ValueKind == JsonValueKind.Object ? String(error, "class") : null,
                error.ValueKind == JsonValueKind.Object ? String(error, "message") : null,
                root.TryGetProperty("version", out var v) && v.TryGetInt32(out var version) ? version : 0,
                String(root, "tenant"),
                json,
                ReadHeaders(delivery.BasicProperties));
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or DecoderFallbackException or ArgumentException)
        {
            Interlocked.Increment(ref _unreadable);
            lock (_lock)
            {
                _unreadableExamples.Add($"{delivery.BasicProperties.CorrelationId}: {ex.GetType().Name}: {ex.Message}");
            }

            return ObservedOutcome.Unreadable;
        }

        lock (_lock)
        {
            _results.Add(result);
        }

        if (result.Succeeded)
        {
            _succeededIds.TryAdd(result.Id, 0);
        }

        return ObservedOutcome.Recorded;
    }

    private ObservedOutcome OnDeadLetter(BasicDeliverEventArgs delivery)
    {
        var headers = ReadHeaders(delivery.BasicProperties);
        var key = $"{delivery.BasicProperties.MessageId}|{headers.GetValueOrDefault("x-rejected-at")}|{delivery.Body.Length}";
        lock (_lock)
        {
            if (!_seenDeadLetters.Add(key))
            {
                return ObservedOutcome.Duplicate;
            }

            _deadLetters.Add(new ObservedDeadLetter(
                delivery.BasicProperties.MessageId,
                headers.GetValueOrDefault("x-reject-reason"),
                delivery.Body.Length,
                delivery.Body.Length <= KeepBodyBytes ? delivery.Body.ToArray() : null,
                headers));
        }

        return ObservedOutcome.Recorded;
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private enum ObservedOutcome
    {
        Recorded,
        Duplicate,
        Unreadable,
    }
}
