using Worker.Host.Publishing;

namespace Worker.Host.Tests.Publishing;

public sealed class MessageIdsTests
{
    [Fact]
    public void Ids_look_like_a_guid_in_N_format_and_never_repeat()
    {
        var ids = new MessageIds();

        var drawn = Enumerable.Range(0, 10_000).Select(_ => ids.Next()).ToList();

        Assert.All(drawn, id => Assert.Matches("^[0-9a-f]{32}$", id));
        Assert.Equal(drawn.Count, drawn.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Two_instances_draw_from_different_prefixes()
    {
        var first = new MessageIds().Next();
        var second = new MessageIds().Next();

        Assert.NotEqual(first[..16], second[..16]);
        Assert.Equal(first[16..], second[16..]);
    }

    [Fact]
    public void Ids_drawn_at_once_from_many_threads_are_all_distinct()
    {
        var ids = new MessageIds();
        var drawn = new System.Collections.Concurrent.ConcurrentBag<string>();

        Parallel.For(0, 20_000, _ => drawn.Add(ids.Next()));

        Assert.Equal(20_000, drawn.Distinct(StringComparer.Ordinal).Count());
    }
}
