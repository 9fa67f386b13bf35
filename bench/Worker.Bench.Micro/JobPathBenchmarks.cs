using System.Diagnostics;
using System.Text;
using BenchmarkDotNet.Attributes;
using Worker.Connector.OpenAi;
using Worker.Host.Contracts;
using Worker.Host.Handling;
using Worker.Host.Processing;

namespace Worker.Bench.Micro;

/// <summary>
/// The worker's own per-job work around the call, in-process: the job's body read into a <see cref="Job"/>, the
/// streamed answer (a ≈ 2 KiB simulator event stream) folded into a completion, and the result built and serialized —
/// what every job costs before the broker and the runtime hop. Allocations per job are the figure to watch.
/// </summary>
[MemoryDiagnoser]
public class JobPathBenchmarks
{
    private readonly JobParser _parser = new(1024 * 1024, "default", defaultStream: true);
    private readonly ResultBuilder _results = new();
    private ReadOnlyMemory<byte> _job;
    private ReadOnlyMemory<byte> _stream;

    [GlobalSetup]
    public void Setup()
    {
        _job = Encoding.UTF8.GetBytes("""{"id":"job-1","prompt":"What is the capital of France?","model":"gpt-4o-mini"}""");
        _stream = Encoding.UTF8.GetBytes(StreamSamples.EventStream("2KB"));
        if (Job().Length == 0)
        {
            throw new InvalidOperationException("no result");
        }
    }

    [Benchmark(Description = "job: parse")]
    public Job? Parse() => _parser.Parse(_job).Job;

    [Benchmark(Description = "job: answer stream (2 KiB)")]
    public ChatCompletion Answer() => ChatCompletionParser.ParseStream(_stream);

    [Benchmark(Description = "job: parse + answer + result")]
    public byte[] Job()
    {
        var job = _parser.Parse(_job).Job ?? throw new InvalidOperationException("the job did not parse");
        var completion = ChatCompletionParser.ParseStream(_stream);
        var result = _results.Succeeded(job, "gpt-4o-mini", completion, 1, new JobDelivery(_job, false, Stopwatch.GetTimestamp()));
        return ResultSerializer.Serialize(result, batchOutputForm: false);
    }
}
