using Worker.Simulator.Limits;

namespace Worker.Simulator.Tests.Limits;

/// <summary>The bucket arithmetic on a hand-driven clock: capacity, continuous refill, remaining, reset, wait.</summary>
public sealed class TokenBucketTests
{
    private static readonly TimeSpan Start = TimeSpan.FromSeconds(10);

    [Fact]
    public void A_new_bucket_is_full_and_its_capacity_is_burst_seconds_of_refill()
    {
        var bucket = new TokenBucket(perMinute: 600, burstSeconds: 2, Start);

        Assert.Equal(20, bucket.Capacity, precision: 9);
        Assert.Equal(20, bucket.Remaining(Start));
        Assert.Equal(0, bucket.Used(Start));
        Assert.Equal(TimeSpan.Zero, bucket.UntilFull(Start));
        Assert.Equal(new BucketState(600, 20, TimeSpan.Zero), bucket.State(Start));
    }

    [Fact]
    public void The_default_burst_of_60_seconds_holds_the_whole_minute()
    {
        var bucket = new TokenBucket(perMinute: 3, burstSeconds: 60, Start);

        Assert.Equal(3, bucket.Remaining(Start));
    }

    [Fact]
    public void Taking_lowers_the_level_and_time_refills_it_continuously_up_to_the_capacity()
    {
        var bucket = new TokenBucket(perMinute: 60, burstSeconds: 5, Start); // 1 per second, holds 5

        bucket.Take(5, Start);
        Assert.Equal(0, bucket.Remaining(Start));
        Assert.False(bucket.Fits(1, Start));

        Assert.Equal(0, bucket.Remaining(Start + TimeSpan.FromMilliseconds(999)));
        Assert.True(bucket.Fits(1, Start + TimeSpan.FromSeconds(1)));
        Assert.Equal(2, bucket.Remaining(Start + TimeSpan.FromSeconds(2.5)));
        Assert.Equal(5, bucket.Remaining(Start + TimeSpan.FromMinutes(10)));
    }

    [Fact]
    public void Reset_is_the_time_until_full_and_the_wait_is_the_time_until_a_cost_fits()
    {
        var bucket = new TokenBucket(perMinute: 120, burstSeconds: 60, Start); // 2 per second, holds 120

        bucket.Take(30, Start);

        Assert.Equal(TimeSpan.FromSeconds(15), bucket.UntilFull(Start));
        Assert.Equal(TimeSpan.Zero, bucket.UntilFits(90, Start));
        Assert.Equal(TimeSpan.FromSeconds(5), bucket.UntilFits(100, Start));
        Assert.Equal(30, bucket.Used(Start));
        Assert.Equal(TimeSpan.FromSeconds(10), bucket.UntilFull(Start + TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public void Remaining_is_rounded_down_and_used_up()
    {
        var bucket = new TokenBucket(perMinute: 60, burstSeconds: 10, Start);

        bucket.Take(10, Start);
        var later = Start + TimeSpan.FromSeconds(1.5);

        Assert.Equal(1, bucket.Remaining(later));
        Assert.Equal(9, bucket.Used(later));
    }

    [Fact]
    public void A_cost_larger_than_the_capacity_can_never_fit()
    {
        var bucket = new TokenBucket(perMinute: 600, burstSeconds: 1, Start); // holds 10

        Assert.True(bucket.CanEverFit(10));
        Assert.False(bucket.CanEverFit(11));
        Assert.False(bucket.Fits(11, Start + TimeSpan.FromHours(1)));
    }
}
