using Worker.Host.Cancelling;

namespace Worker.Host.Tests.Cancelling;

public sealed class CancelLedgerTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.Parse("2026-12-02T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_running_job_is_stopped_and_its_tracking_ends_with_the_run()
    {
        var ledger = new CancelLedger(10, TimeSpan.FromHours(1));
        using (var run = ledger.Track("job-1", T0))
        {
            Assert.False(run.IsCancellationRequested);
            Assert.True(ledger.IsRunning("job-1"));
            Assert.Equal(CancelDecision.StoppedRunning, await ledger.CancelAsync("job-1", T0));
            Assert.True(run.Token.IsCancellationRequested);
        }

        Assert.False(ledger.IsRunning("job-1"));
    }

    [Fact]
    public async Task A_job_cancelled_before_it_arrives_starts_cancelled_and_others_do_not()
    {
        var ledger = new CancelLedger(10, TimeSpan.FromHours(1));
        Assert.Equal(CancelDecision.Remembered, await ledger.CancelAsync("later", T0));
        using var cancelled = ledger.Track("later", T0.AddMinutes(1));
        using var other = ledger.Track("other", T0.AddMinutes(1));
        Assert.True(cancelled.IsCancellationRequested);
        Assert.False(other.IsCancellationRequested);
    }

    [Fact]
    public async Task Remembered_ids_expire_after_the_job_ttl()
    {
        var ledger = new CancelLedger(10, TimeSpan.FromMinutes(5));
        await ledger.CancelAsync("old", T0);
        using var run = ledger.Track("old", T0.AddMinutes(5));
        Assert.False(run.IsCancellationRequested);
        Assert.Equal(0, ledger.Remembered);
    }

    [Fact]
    public async Task Memory_is_bounded_the_oldest_forgotten_first_and_a_repeat_counts_as_new()
    {
        var ledger = new CancelLedger(3, TimeSpan.FromHours(1));
        await ledger.CancelAsync("a", T0);
        await ledger.CancelAsync("b", T0);
        await ledger.CancelAsync("c", T0);
        await ledger.CancelAsync("a", T0.AddSeconds(1)); // a is now the newest
        await ledger.CancelAsync("d", T0.AddSeconds(2)); // b goes

        Assert.Equal(3, ledger.Remembered);
        foreach (var (id, cancelled) in new[] { ("a", true), ("b", false), ("c", true), ("d", true) })
        {
            using var run = ledger.Track(id, T0.AddSeconds(3));
            Assert.Equal(cancelled, run.IsCancellationRequested);
        }
    }

    [Fact]
    public async Task Two_runs_of_one_id_are_both_stopped()
    {
        var ledger = new CancelLedger(10, TimeSpan.FromHours(1));
        using var first = ledger.Track("dup", T0);
        using var second = ledger.Track("dup", T0);
        await ledger.CancelAsync("dup", T0);
        Assert.True(first.IsCancellationRequested && second.IsCancellationRequested);
    }
}
