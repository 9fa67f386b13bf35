using Worker.Simulator.Limits;
using Worker.Simulator.Options;
using Worker.Simulator.Stats;
using MsOptions = Microsoft.Extensions.Options.Options;

namespace Worker.Simulator.Tests.Limits;

/// <summary>Capacity slots without HTTP: first come first served, cancelled waiters leave the line, Reject refuses.</summary>
public sealed class GenerationSlotsTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Waiters_get_freed_slots_in_arrival_order_and_a_cancelled_waiter_leaves_the_line()
    {
        var stats = new SimulatorStats();
        var slots = Create(1, CapacityOverflow.Queue, stats);
        using var cancelSecond = new CancellationTokenSource();

        Assert.True(await slots.TryEnterAsync(CancellationToken.None));
        var second = slots.TryEnterAsync(cancelSecond.Token).AsTask();
        var third = slots.TryEnterAsync(CancellationToken.None).AsTask();
        var fourth = slots.TryEnterAsync(CancellationToken.None).AsTask();
        Assert.Equal(3, stats.QueuedGenerations);

        await cancelSecond.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
        Assert.Equal(2, stats.QueuedGenerations);

        slots.Leave();
        Assert.True(await third.WaitAsync(Generous));
        Assert.False(fourth.IsCompleted);
        Assert.Equal(1, stats.ActiveGenerations);

        slots.Leave();
        Assert.True(await fourth.WaitAsync(Generous));
        slots.Leave();

        Assert.Equal(0, stats.ActiveGenerations);
        Assert.Equal(0, stats.QueuedGenerations);
        Assert.Equal(1, stats.PeakActiveGenerations);
    }

    [Fact]
    public async Task Reject_refuses_when_full_and_admits_again_once_a_slot_is_free()
    {
        var stats = new SimulatorStats();
        var slots = Create(2, CapacityOverflow.Reject, stats);

        Assert.True(await slots.TryEnterAsync(CancellationToken.None));
        Assert.True(await slots.TryEnterAsync(CancellationToken.None));
        Assert.False(await slots.TryEnterAsync(CancellationToken.None));
        Assert.Equal(0, stats.QueuedGenerations);

        slots.Leave();
        Assert.True(await slots.TryEnterAsync(CancellationToken.None));
        Assert.Equal(2, stats.PeakActiveGenerations);
    }

    [Fact]
    public async Task Without_a_limit_every_request_enters_and_is_counted()
    {
        var stats = new SimulatorStats();
        var slots = Create(0, CapacityOverflow.Reject, stats);

        for (var i = 0; i < 5; i++)
        {
            Assert.True(await slots.TryEnterAsync(CancellationToken.None));
        }

        Assert.Equal(5, stats.ActiveGenerations);
        for (var i = 0; i < 5; i++)
        {
            slots.Leave();
        }

        Assert.Equal(0, stats.ActiveGenerations);
        Assert.Equal(5, stats.PeakActiveGenerations);
    }

    private static GenerationSlots Create(int max, CapacityOverflow overflow, SimulatorStats stats) =>
        new(MsOptions.Create(new SimulatorOptions { Capacity = { MaxConcurrent = max, Overflow = overflow } }), stats);
}
