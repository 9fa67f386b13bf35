using Xunit.Abstractions;

namespace Worker.Chaos.Tests;

/// <summary>
/// 100,000 random and mutated IPC frames against a real runtime process while a well-formed client keeps working
/// through it (also: <c>scripts/chaos.sh --fuzz [--frames N]</c>).
/// </summary>
public sealed class IpcFuzzTests(ITestOutputHelper output)
{
    [Fact]
    [Trait("Category", "Fuzz")]
    public async Task Hundred_thousand_fuzzed_frames_neither_crash_the_runtime_nor_leak_connections_nor_disturb_a_well_formed_client()
    {
        // ~20-30 s on an idle 2-core machine; the budget leaves room for a busy one.
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));

        var result = await FuzzRun.RunAsync(frames: 100_000, seed: 4242, log: output.WriteLine, budget: TimeSpan.FromMinutes(3), cancellationToken: timeout.Token);

        output.WriteLine(result.Summary);
        foreach (var (name, count) in result.Report.Cases.OrderByDescending(c => c.Value))
        {
            output.WriteLine($"  {name,-45} {count,9:N0}");
        }

        Assert.True(result.Passed, string.Join("\n", result.Violations) + "\n" + result.Summary);
        Assert.True(result.Report.FramesProcessed >= 100_000);
        Assert.True(result.Report.WellFormedOk > 0);
    }
}
