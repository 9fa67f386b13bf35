using Worker.Host.Streaming;

namespace Worker.Host.Tests.Streaming;

public sealed class DeltaCoalescerTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    [Fact]
    public void Pieces_wait_for_the_interval_then_come_out_as_one_numbered_delta()
    {
        var coalescer = new DeltaCoalescer(Interval, maxPieces: 64);
        coalescer.BeginAttempt(1, TimeSpan.Zero);
        Assert.Null(coalescer.DueIn(TimeSpan.Zero));

        Assert.False(coalescer.Append("Hello"));
        Assert.False(coalescer.Append(", world"));
        Assert.Equal(TimeSpan.FromMilliseconds(150), coalescer.DueIn(TimeSpan.FromMilliseconds(100)));
        Assert.Equal(TimeSpan.Zero, coalescer.DueIn(TimeSpan.FromMilliseconds(300)));

        Assert.True(coalescer.TryTake(TimeSpan.FromMilliseconds(300), out var first));
        Assert.Equal((1, 0, "Hello, world"), first);
        Assert.False(coalescer.HasPending);
        Assert.False(coalescer.TryTake(TimeSpan.FromMilliseconds(300), out _));

        coalescer.Append("!");
        // The interval counts from the last delta.
        Assert.Equal(TimeSpan.FromMilliseconds(200), coalescer.DueIn(TimeSpan.FromMilliseconds(350)));
        Assert.True(coalescer.TryTake(TimeSpan.FromMilliseconds(600), out var second));
        Assert.Equal((1, 1, "!"), second);
    }

    [Fact]
    public void A_full_count_makes_a_delta_due_at_once()
    {
        var coalescer = new DeltaCoalescer(Interval, maxPieces: 3);
        coalescer.BeginAttempt(1, TimeSpan.Zero);
        Assert.False(coalescer.Append("a"));
        Assert.False(coalescer.Append("b"));
        Assert.True(coalescer.Append("c"));
        Assert.Equal(TimeSpan.Zero, coalescer.DueIn(TimeSpan.FromMilliseconds(1)));
        Assert.True(coalescer.TryTake(TimeSpan.FromMilliseconds(1), out var delta));
        Assert.Equal("abc", delta.Content);
    }

    [Fact]
    public void Empty_pieces_count_for_nothing()
    {
        var coalescer = new DeltaCoalescer(Interval, maxPieces: 1);
        coalescer.BeginAttempt(1, TimeSpan.Zero);
        Assert.False(coalescer.Append(""));
        Assert.False(coalescer.HasPending);
    }

    [Fact]
    public void A_new_attempt_restarts_the_numbering_and_drops_what_the_old_one_left()
    {
        var coalescer = new DeltaCoalescer(Interval, maxPieces: 64);
        coalescer.BeginAttempt(1, TimeSpan.Zero);
        coalescer.Append("first try");
        coalescer.TryTake(TimeSpan.FromSeconds(1), out _);
        coalescer.Append(" unsent");

        coalescer.BeginAttempt(2, TimeSpan.FromSeconds(2));
        Assert.False(coalescer.HasPending);
        coalescer.Append("second try");
        Assert.True(coalescer.TryTake(TimeSpan.FromSeconds(3), out var delta));
        Assert.Equal((2, 0, "second try"), delta);
        Assert.Equal(2, coalescer.Attempt);
    }
}
