using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Worker.Host.Configuration;
using Worker.Host.Contracts;

namespace Worker.Host.Cli;

/// <summary>Collects results for a set of job ids from an exclusive queue bound to the results exchange.</summary>
internal sealed class ResultCollector : IAsyncDisposable
{
    private readonly IChannel _channel;
    private readonly ConcurrentDictionary<string, long> _sentAt = new();
    private readonly HashSet<string> _pending;
    private readonly Dictionary<string, string?> _questions;
    private readonly System.Threading.Channels.Channel<(string Id, byte[] Body, long ArrivedAt)> _arrivals = System.Threading.Channels.Channel.CreateUnbounded<(string, byte[], long)>();

    private ResultCollector(IChannel channel, List<JobLine> jobs)
    {
        _channel = channel;
        _pending = new HashSet<string>(jobs.Select(j => j.Id), StringComparer.Ordinal);
        _questions = jobs.GroupBy(j => j.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Question, StringComparer.Ordinal);
    }

    public static async Task<ResultCollector> StartAsync(IConnection connection, RabbitMqOptions rabbit, List<JobLine> jobs, CancellationToken cancellationToken)
    {
        var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        var queue = await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true, cancellationToken: cancellationToken);
        await channel.QueueBindAsync(queue.QueueName, rabbit.ResultsExchange, "#", cancellationToken: cancellationToken);
        var collector = new ResultCollector(channel, jobs);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) =>
        {
            // Deltas share the correlation id but are not the answer: only results count.
            if (delivery.BasicProperties.CorrelationId is { } id && delivery.RoutingKey != JobDelta.RoutingKey)
            {
                collector._arrivals.Writer.TryWrite((id, delivery.Body.ToArray(), Stopwatch.GetTimestamp()));
            }

            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(queue.QueueName, autoAck: true, consumer, cancellationToken);
        return collector;
    }

    public void MarkSent(string id) => _sentAt[id] = Stopwatch.GetTimestamp();

    public async Task<int> CollectAsync(string outputPath, TimeSpan timeout, bool show, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var total = _pending.Count;
        // With --show the answers are the progress: a bar redrawn on stderr would cut through them.
        var progress = show ? null : new ProgressBar("results", total, error);
        var latencies = new List<double>(total);
        int succeeded = 0, failed = 0;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        await using (var file = new StreamWriter(outputPath))
        {
            try
            {
                while (_pending.Count > 0)
                {
                    var (id, body, arrivedAt) = await _arrivals.Reader.ReadAsync(deadline.Token);
                    if (!_pending.Remove(id))
                    {
                        continue;
                    }

                    await file.WriteLineAsync(System.Text.Encoding.UTF8.GetString(body));
                    if (_sentAt.TryGetValue(id, out var sentAt))
                    {
                        latencies.Add(Stopwatch.GetElapsedTime(sentAt, arrivedAt).TotalMilliseconds);
                    }

                    var success = IsSuccess(body);
                    if (success)
                    {
                        succeeded++;
                    }
                    else
                    {
                        failed++;
                    }

                    if (show)
                    {
                        await output.WriteLineAsync($"Q: {_questions.GetValueOrDefault(id) ?? id}");
                        await output.WriteLineAsync($"A: {(success ? "" : "FAILED: ")}{Describe(body)}");
                        await output.WriteLineAsync();
                    }

                    progress?.Report(total - _pending.Count);
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                await error.WriteLineAsync($"\nenqueue: timed out after {timeout} with {_pending.Count} result(s) missing");
            }
        }

        latencies.Sort();
        await output.WriteLineAsync(
            $"results: {succeeded} succeeded, {failed} failed, {_pending.Count} missing; latency p50 {Percentile(latencies, 0.50):0} ms, p95 {Percentile(latencies, 0.95):0} ms; written to {outputPath}");
        return failed == 0 && _pending.Count == 0 ? 0 : 1;
    }

    private static bool IsSuccess(byte[] body) =>
        ResultSerializer.TryRead(body, out var result, out var batch) && (result?.IsSuccess ?? batch!.IsSuccess);

    /// <summary>The completion text (our form or Batch output form), or the error message.</summary>
    private static string Describe(byte[] body)
    {
        if (!ResultSerializer.TryRead(body, out var result, out var batch))
        {
            return "(unreadable result)";
        }

        if (result is not null)
        {
            return result.Content ?? result.Error?.Message ?? "";
        }

        return batch!.Error?.Message ?? (batch.Response?.Body is { ValueKind: JsonValueKind.Object } completion
            && completion.TryGetProperty("choices", out var choices) && choices.GetArrayLength() > 0
            && choices[0].GetProperty("message").TryGetProperty("content", out var content) ? content.GetString() ?? "" : "");
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    public async ValueTask DisposeAsync() => await _channel.DisposeAsync();
}
