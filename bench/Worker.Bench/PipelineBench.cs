using System.Diagnostics;

namespace Worker.Bench;

/// <summary>CPU µs per job over a round, by process: the worker, the broker (when the bench started it), the simulator, and the bench itself (job publisher, results consumer — and the raw cycle's loop).</summary>
public sealed record JobCpu(double Worker, double Broker, double Simulator, double Bench)
{
    public double Total => Worker + Broker + Simulator + Bench;

    public static JobCpu Median(IReadOnlyList<JobCpu> rounds) => rounds.Count == 0
        ? new JobCpu(double.NaN, double.NaN, double.NaN, double.NaN)
        : new JobCpu(Spread.Of(rounds.Select(r => r.Worker)).Median, Spread.Of(rounds.Select(r => r.Broker)).Median,
            Spread.Of(rounds.Select(r => r.Simulator)).Median, Spread.Of(rounds.Select(r => r.Bench)).Median);
}

public sealed record PipelineRow(int Concurrency, int PipelineJobs, int RawJobs, Spread PipelineJobsPerSecond, Spread RawJobsPerSecond, Spread Ratio, double ResultBytes, JobCpu PipelineCpu, JobCpu RawCpu);

/// <summary>
/// <paramref name="WorkerDurationMs"/>: the worker's own duration_ms (delivery → result ready); <paramref name="SlotCycleMs"/>:
/// C / throughput, the time one of the C slots spends per job. Their difference is the publish-confirm, the ack and
/// the next delivery — the broker's share.
/// </summary>
public sealed record ScalingRow(int Concurrency, int Jobs, double IdealJobsPerSecond, Spread JobsPerSecond, Spread Efficiency, Spread WorkerDurationMs, Spread SlotCycleMs, JobCpu Cpu);

/// <summary>
/// Figures 2 and 3. Each round publishes N jobs (persistent, confirmed) and times the results as the bench's results
/// consumer receives them. Throughput is taken over the steady part of the round: from result #k to the last one,
/// (N − 1 − k) / (t_last − t_k) with arrivals numbered from 0, which leaves out the start-up ramp (k = N/10 for zero
/// latency; k = C − 1, the end of the first wave, for the latency-bound runs).
/// </summary>
public sealed class PipelineBench
{
    private static readonly int[] ScalingConcurrencies = [1, 16, 64, 256];
    private readonly BenchSettings _settings;
    private readonly Stack _stack;
    private readonly Action<string> _log;
    private readonly string _runId = $"b{Environment.ProcessId}";
    private int _batch;

    public PipelineBench(BenchSettings settings, Stack stack, Action<string> log)
    {
        _settings = settings;
        _stack = stack;
        _log = log;
    }

    /// <summary>
    /// Figure 2, the drain. Per C (16, 64) one worker process (zero-latency simulator) and one raw-cycle process
    /// (<see cref="RawCycle"/>) are started and warmed up with jobs for <see cref="DrainWarmSeconds"/> (JIT tiering
    /// takes tens of seconds of steady work: a worker's first 20 s cost twice the CPU per job of its steady state).
    /// Each round then freezes the consumer (SIGSTOP), preloads N jobs into its idle quorum queue, thaws it (SIGCONT)
    /// and times the results as they arrive, from result N/10 to the last; CPU per job of every process is read over
    /// that same window. Rounds alternate which side goes first.
    /// </summary>
    public async Task<List<PipelineRow>> RunPipelineAsync(BrokerClient broker)
    {
        var (sim, baseAddress) = await _stack.StartSimulatorAsync("sim-pipeline", 0);
        await using var simProcess = sim;
        var workerSide = new Topology($"bench-{_runId}-p");
        var rawSide = new Topology($"bench-{_runId}-r");
        await broker.DeclareAsync(rawSide);
        var rows = new List<PipelineRow>();
        try
        {
            // The heartbeat is raised so a frozen worker is not disconnected while its queue is preloaded.
            IReadOnlyDictionary<string, string?> frozenOk = new Dictionary<string, string?> { ["RabbitMq__Heartbeat"] = "00:02:00" };
            var first = await _stack.StartWorkerAsync(broker, workerSide, baseAddress, 16, "worker-declare", frozenOk);
            var workerResults = await ResultsCollector.StartAsync(broker.Connection, workerSide.ResultsQueue);
            await using var workerResultsOwner = workerResults;
            await using var rawResults = await ResultsCollector.StartAsync(broker.Connection, rawSide.ResultsQueue);
            var jobs = _settings.DrainJobs;
            await using (first)
            {
                // The result size the raw cycle must publish.
                await RoundAsync(broker, workerSide, workerResults, 300, 30);
            }

            var resultBytes = workerResults.MeanBytes;
            foreach (var c in _settings.DrainConcurrencies)
            {
                await using var worker = await _stack.StartWorkerAsync(broker, workerSide, baseAddress, c, $"worker-drain-c{c}", frozenOk);
                await using var raw = _stack.StartRawCycle(rawSide, (int)resultBytes, $"raw-cycle-c{c}");
                await broker.WaitForConsumerAsync(rawSide.JobsQueue, TimeSpan.FromSeconds(60), raw);
                var warmWorker = await WarmUpAsync(broker, workerSide, workerResults, c, worker, simProcess, DrainWarmSeconds);
                var warmRaw = await WarmUpAsync(broker, rawSide, rawResults, c, raw, null, DrainWarmSeconds / 3);
                _log($"drain c={c}: warmed up ({DrainWarmSeconds:0} s / {DrainWarmSeconds / 3:0} s; last rates {warmWorker:0} / {warmRaw:0} jobs/s); rounds of {jobs} jobs");

                var pipe = new List<double>();
                var rawList = new List<double>();
                var pipeCpu = new List<JobCpu>();
                var rawCpu = new List<JobCpu>();
                for (var round = 0; round < _settings.Rounds; round++)
                {
                    async Task Pipe()
                    {
                        var (rate, cpu) = await DrainAsync(broker, workerSide, workerResults, jobs, worker, simProcess);
                        pipe.Add(rate);
                        pipeCpu.Add(cpu);
                    }

                    async Task Raw()
                    {
                        var (rate, cpu) = await DrainAsync(broker, rawSide, rawResults, jobs, raw, null);
                        rawList.Add(rate);
                        rawCpu.Add(cpu);
                    }

                    if (round % 2 == 0)
                    {
                        await Pipe();
                        await Raw();
                    }
                    else
                    {
                        await Raw();
                        await Pipe();
                    }

                    _log($"drain c={c} round {round + 1}: worker {pipe[^1]:0} jobs/s ({pipeCpu[^1].Worker:0} µs CPU/job), raw cycle {rawList[^1]:0} jobs/s ({rawCpu[^1].Worker:0} µs CPU/job)");
                }

                rows.Add(new PipelineRow(c, jobs, jobs, Spread.Of(pipe), Spread.Of(rawList), Spread.Of(pipe.Zip(rawList, (p, r) => p / r)), resultBytes,
                    JobCpu.Median(pipeCpu), JobCpu.Median(rawCpu)));
            }
        }
        finally
        {
            await broker.DeleteAsync(workerSide);
            await broker.DeleteAsync(rawSide);
        }

        return rows;
    }

    private double DrainWarmSeconds => _settings.Quick ? 15 : 40;

    /// <summary>
    /// Freezes the consumer, preloads <paramref name="jobs"/> jobs, thaws it, waits for every result. Returns the
    /// steady rate (results N/10 → last) and CPU µs per job of each process over that same window.
    /// </summary>
    private async Task<(double Rate, JobCpu Cpu)> DrainAsync(BrokerClient broker, Topology side, ResultsCollector results, int jobs, ChildProcess consumer, ChildProcess? simulator)
    {
        const int SigStop = 19;
        const int SigCont = 18;
        var skip = jobs / 10;
        (double Consumer, double Broker, double Sim, double Bench) mark = default;
        results.Expect(jobs, skip, () => mark = (consumer.CpuSeconds(), CpuAccounting.BrokerSeconds(), simulator?.CpuSeconds() ?? 0, ProcStat.SelfCpuSeconds()));
        ProcStat.Kill(consumer.Pid, SigStop);
        try
        {
            await broker.PublishAsync(side.JobsQueue, Stack.Jobs($"{_runId}-{Interlocked.Increment(ref _batch)}", jobs));
        }
        finally
        {
            ProcStat.Kill(consumer.Pid, SigCont);
        }

        var arrivals = await results.WaitAsync(TimeSpan.FromSeconds(120 + (jobs / 100)));
        var steady = jobs - 1 - skip;
        double PerJob(double from, double to) => (to - from) * 1_000_000 / steady;
        var cpu = new JobCpu(
            PerJob(mark.Consumer, consumer.CpuSeconds()),
            PerJob(mark.Broker, CpuAccounting.BrokerSeconds()),
            PerJob(mark.Sim, simulator?.CpuSeconds() ?? 0),
            PerJob(mark.Bench, ProcStat.SelfCpuSeconds()));
        if (results.Failed > 0)
        {
            throw new InvalidOperationException($"{results.Failed} of {jobs} results on {side.ResultsQueue} did not succeed");
        }

        var seconds = (double)(arrivals[^1] - arrivals[skip]) / Stopwatch.Frequency;
        return (steady / seconds, cpu);
    }

    /// <summary>Latency-bound scaling: simulator time to complete L, C = 1, 16, 64, 256, N = C × waves per round.</summary>
    public async Task<List<ScalingRow>> RunScalingAsync(BrokerClient broker)
    {
        var latency = _settings.ScalingLatencyMs;
        var (sim, baseAddress) = await _stack.StartSimulatorAsync("sim-latency", latency);
        await using var simProcess = sim;
        var side = new Topology($"bench-{_runId}-s");
        var rows = new List<ScalingRow>();
        try
        {
            foreach (var c in ScalingConcurrencies)
            {
                await using var worker = await _stack.StartWorkerAsync(broker, side, baseAddress, c, $"worker-scale-c{c}");
                await using var results = await ResultsCollector.StartAsync(broker.Connection, side.ResultsQueue);
                var jobs = c * _settings.ScalingWaves;
                var ideal = c * 1000.0 / latency;

                // Warm-up: waves for WarmSeconds (at least two), so the worker's code is tiered up before measuring —
                // a long-running worker's is.
                var warmWaves = Math.Max(2, (int)Math.Ceiling(WarmSeconds * 1000 / latency));
                await RoundAsync(broker, side, results, c * warmWaves, c - 1);
                var rates = new List<double>();
                var durations = new List<double>();
                var cpu = new List<JobCpu>();
                for (var round = 0; round < _settings.Rounds; round++)
                {
                    // k = C − 1: the last result of the first wave ends the ramp; then C jobs finish every L at best.
                    rates.Add(await RoundAsync(broker, side, results, jobs, c - 1, worker, simProcess));
                    durations.Add(results.MedianDurationMs());
                    cpu.Add(LastRoundCpu);
                    _log($"scaling c={c} round {round + 1}: {rates[^1]:0.0} jobs/s (ideal {ideal:0.0}) efficiency {rates[^1] / ideal:0.000}; worker duration p50 {durations[^1]:0} ms, slot cycle {c * 1000 / rates[^1]:0.0} ms");
                }

                rows.Add(new ScalingRow(c, jobs, ideal, Spread.Of(rates), Spread.Of(rates.Select(r => r / ideal)), Spread.Of(durations), Spread.Of(rates.Select(r => c * 1000 / r)), JobCpu.Median(cpu)));
            }
        }
        finally
        {
            await broker.DeleteAsync(side);
        }

        return rows;
    }

    /// <summary>CPU per job of the last <see cref="RoundAsync"/>, whole round (ramp included).</summary>
    public JobCpu LastRoundCpu { get; private set; } = new(double.NaN, double.NaN, double.NaN, double.NaN);

    private double WarmSeconds => _settings.Quick ? 2.5 : 5;

    /// <summary>Rounds of growing size until WarmSeconds have passed; returns the last round's rate.</summary>
    private async Task<double> WarmUpAsync(BrokerClient broker, Topology side, ResultsCollector results, int concurrency, ChildProcess? worker, ChildProcess? simulator, double? seconds = null)
    {
        var until = Stopwatch.GetTimestamp() + (long)((seconds ?? WarmSeconds) * Stopwatch.Frequency);
        var jobs = concurrency == 1 ? 100 : 300;
        var rate = 0.0;
        while (Stopwatch.GetTimestamp() < until)
        {
            rate = await RoundAsync(broker, side, results, jobs, jobs / 10, worker, simulator);
            jobs = (int)Math.Clamp(rate * 1.0, 100, 5000);
        }

        return rate;
    }

    private int Size(double rate) => (int)Math.Clamp(rate * _settings.PipelineSeconds, 200, 200_000);

    /// <summary>Publishes <paramref name="jobs"/> jobs, waits for all results, returns (N − 1 − k) / (t_last − t_k).</summary>
    public async Task<double> RoundAsync(BrokerClient broker, Topology side, ResultsCollector results, int jobs, int skip, ChildProcess? worker = null, ChildProcess? simulator = null)
    {
        var bodies = Stack.Jobs($"{_runId}-{Interlocked.Increment(ref _batch)}", jobs);
        results.Expect(jobs);
        var before = (Worker: worker?.CpuSeconds() ?? 0, Broker: CpuAccounting.BrokerSeconds(), Sim: simulator?.CpuSeconds() ?? 0, Bench: ProcStat.SelfCpuSeconds());
        var publish = broker.PublishAsync(side.JobsQueue, bodies);
        var arrivals = await results.WaitAsync(TimeSpan.FromSeconds(120 + (jobs / 100)));
        await publish;
        double PerJob(double from, double to) => (to - from) * 1_000_000 / jobs;
        LastRoundCpu = new JobCpu(
            PerJob(before.Worker, worker?.CpuSeconds() ?? 0),
            PerJob(before.Broker, CpuAccounting.BrokerSeconds()),
            PerJob(before.Sim, simulator?.CpuSeconds() ?? 0),
            PerJob(before.Bench, ProcStat.SelfCpuSeconds()));
        if (results.Failed > 0)
        {
            throw new InvalidOperationException($"{results.Failed} of {jobs} results on {side.ResultsQueue} did not succeed");
        }

        skip = Math.Clamp(skip, 0, jobs - 2);
        var seconds = (double)(arrivals[^1] - arrivals[skip]) / Stopwatch.Frequency;
        return (jobs - 1 - skip) / seconds;
    }
}
