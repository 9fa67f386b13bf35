using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Worker.Host.Configuration;
using Worker.Host.Contracts;
using Worker.Host.Publishing;
using Worker.Host.Telemetry;

namespace Worker.Host.Cli;

/// <summary>
/// <c>enqueue "prompt"</c> or <c>enqueue --file jobs.jsonl</c>: publishes jobs with confirms (trace context injected);
/// with <c>--wait</c> collects the matching results into a JSONL file and prints a summary.
/// </summary>
internal sealed class EnqueueCommand
{
    private readonly IConfiguration _configuration;
    private readonly TextWriter _out;
    private readonly TextWriter _err;

    public EnqueueCommand(IConfiguration configuration, TextWriter? output = null, TextWriter? error = null)
    {
        _configuration = configuration;
        _out = output ?? Console.Out;
        _err = error ?? Console.Error;
    }

    public sealed record Arguments(
        string? Prompt, FileInfo? File, int Count, string? Model, string? Tenant, bool Wait, FileInfo? Output, TimeSpan Timeout, bool Show = false);

    public async Task<int> RunAsync(Arguments args, CancellationToken cancellationToken)
    {
        List<JobLine> jobs;
        try
        {
            jobs = await LoadJobsAsync(args, cancellationToken);
        }
        catch (Exception ex) when (ex is FormatException or IOException or ArgumentException)
        {
            await _err.WriteLineAsync($"enqueue: {ex.Message}");
            return 2;
        }

        var rabbit = CliConfiguration.RabbitMq(_configuration);
        var factory = RabbitMqConnectionProvider.CreateFactory(rabbit);
        factory.ClientProvidedName = "worker-enqueue";
        await using var connection = await factory.CreateConnectionAsync(cancellationToken);
        await new TopologyDeclarer(Options.Create(rabbit)).DeclareAsync(connection, cancellationToken);

        var collector = args.Wait ? await ResultCollector.StartAsync(connection, rabbit, jobs, cancellationToken) : null;
        await using (collector)
        {
            await PublishAsync(connection, rabbit, jobs, collector, cancellationToken);
            if (collector is null)
            {
                foreach (var job in jobs)
                {
                    await _out.WriteLineAsync(job.Id);
                }

                return 0;
            }

            var output = args.Output?.FullName ?? Path.GetFullPath($"results-{DateTime.UtcNow:yyyyMMdd-HHmmss}.jsonl");
            return await collector.CollectAsync(output, args.Timeout, args.Show, _out, _err, cancellationToken);
        }
    }

    private static async Task<List<JobLine>> LoadJobsAsync(Arguments args, CancellationToken cancellationToken)
    {
        if (args.File is not null)
        {
            var jobs = new List<JobLine>();
            var number = 0;
            foreach (var line in await File.ReadAllLinesAsync(args.File.FullName, cancellationToken))
            {
                number++;
                if (!string.IsNullOrWhiteSpace(line))
                {
                    jobs.Add(JobLine.FromFileLine(line, number));
                }
            }

            return jobs.Count > 0 ? jobs : throw new FormatException($"{args.File.Name} holds no jobs");
        }

        if (string.IsNullOrWhiteSpace(args.Prompt))
        {
            throw new ArgumentException("give a prompt or --file jobs.jsonl");
        }

        return [.. Enumerable.Range(0, Math.Max(1, args.Count)).Select(_ => JobLine.FromPrompt(args.Prompt, args.Model, args.Tenant))];
    }

    private async Task PublishAsync(IConnection connection, RabbitMqOptions rabbit, List<JobLine> jobs, ResultCollector? collector, CancellationToken cancellationToken)
    {
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(true, true, new ThrottlingRateLimiter(rabbit.MaxOutstandingConfirms), consumerDispatchConcurrency: 1), cancellationToken);
        var progress = new ProgressBar("enqueue", jobs.Count, _err);
        var done = 0;
        // Confirms are awaited per message but many are in flight at once (bounded by the rate limiter).
        await Parallel.ForEachAsync(jobs, new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = cancellationToken }, async (job, ct) =>
        {
            // A sampled producer context: the worker's parent-based sampler then records the job's whole trace.
            using var activity = new Activity($"send {rabbit.JobsQueue}").SetIdFormat(ActivityIdFormat.W3C).Start();
            activity.ActivityTraceFlags |= ActivityTraceFlags.Recorded;
            var headers = new Dictionary<string, object?>();
            AmqpTraceContext.Inject(activity, headers);
            var properties = new BasicProperties
            {
                Persistent = true,
                ContentType = "application/json",
                MessageId = job.Id,
                CorrelationId = job.Id,
                Headers = headers,
            };
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(rabbit.PublishTimeout);
            collector?.MarkSent(job.Id);
            await channel.BasicPublishAsync("", rabbit.JobsQueue, mandatory: true, properties, job.Body, timeout.Token);
            progress.Report(Interlocked.Increment(ref done));
        });
    }

    /// <summary>Collects results for a set of job ids from an exclusive queue bound to the results exchange.</summary>
    private sealed class ResultCollector : IAsyncDisposable
    {
        private readonly IChannel _channel;
        private readonly ConcurrentDictionary<string, long> _sentAt = new();
        private readonly HashSet<string> _pending;
        private readonly System.Threading.Channels.Channel<(string Id, byte[] Body, long ArrivedAt)> _arrivals = System.Threading.Channels.Channel.CreateUnbounded<(string, byte[], long)>();

        private ResultCollector(IChannel channel, IEnumerable<string> ids)
        {
            _channel = channel;
            _pending = new HashSet<string>(ids, StringComparer.Ordinal);
        }

        public static async Task<ResultCollector> StartAsync(IConnection connection, RabbitMqOptions rabbit, List<JobLine> jobs, CancellationToken cancellationToken)
        {
            var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
            var queue = await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true, cancellationToken: cancellationToken);
            await channel.QueueBindAsync(queue.QueueName, rabbit.ResultsExchange, "#", cancellationToken: cancellationToken);
            var collector = new ResultCollector(channel, jobs.Select(j => j.Id));
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += (_, delivery) =>
            {
                if (delivery.BasicProperties.CorrelationId is { } id)
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
            var progress = new ProgressBar("results", total, error);
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
                            await output.WriteLineAsync($"[{id}] {(success ? "" : "FAILED: ")}{Describe(body)}");
                        }

                        progress.Report(total - _pending.Count);
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
}
