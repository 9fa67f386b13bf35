using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using Worker.Host.Configuration;
using Worker.Host.Publishing;
using Worker.Host.Telemetry;

namespace Worker.Host.Cli;

/// <summary>
/// <c>enqueue "prompt"</c> or <c>enqueue --file jobs.jsonl</c>: publishes jobs with confirms (trace context injected);
/// with <c>--wait</c> collects the matching results into a JSONL file and prints a summary. <c>--endpoint</c> pins
/// prompt jobs to a named endpoint (no fallback).
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
        string? Prompt, FileInfo? File, int Count, string? Model, string? Tenant, bool Wait, FileInfo? Output, TimeSpan Timeout, bool Show = false, string? Endpoint = null);

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
        await using var connection = await RabbitMqConnectionProvider.ConnectAsync(factory, rabbit, cancellationToken);
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

    internal static async Task<List<JobLine>> LoadJobsAsync(Arguments args, CancellationToken cancellationToken)
    {
        if (args.Endpoint is not null && !LlmHostOptions.IsEndpointName(args.Endpoint))
        {
            throw new ArgumentException($"--endpoint '{args.Endpoint}': an endpoint name is 1 to 64 letters, digits, '-', '_' or '.'");
        }

        if (args.File is not null)
        {
            if (args.Endpoint is not null)
            {
                // A file's lines are sent unchanged: each names its own endpoint, if any.
                throw new ArgumentException("--endpoint applies to a prompt; with --file, set \"endpoint\" in each line");
            }

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

        return [.. Enumerable.Range(0, Math.Max(1, args.Count)).Select(_ => JobLine.FromPrompt(args.Prompt, args.Model, args.Tenant, endpoint: args.Endpoint))];
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
                Timestamp = new AmqpTimestamp(DateTimeOffset.UtcNow.ToUnixTimeSeconds()),
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
}
