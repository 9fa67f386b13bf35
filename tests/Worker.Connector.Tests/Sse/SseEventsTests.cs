using Worker.Connector.Sse;

namespace Worker.Connector.Tests.Sse;

public sealed class SseEventsTests
{
    [Fact]
    public void Crlf_line_endings_are_accepted()
    {
        var events = SseEvents.Parse("data: one\r\n\r\ndata: two\r\n\r\n").Select(e => e.Data).ToArray();
        Assert.Equal(["one", "two"], events);
    }

    [Fact]
    public void Split_data_lines_are_joined_with_a_newline()
    {
        var single = Assert.Single(SseEvents.Parse("data: {\"a\":\ndata: 1}\n\n"));
        Assert.Equal("{\"a\":\n1}", single.Data);
    }

    [Fact]
    public void Comments_are_skipped_and_event_names_kept()
    {
        var events = SseEvents.Parse(": keep-alive\n\nevent: ping\ndata: x\n\n: another\ndata: y\n\n").ToArray();
        Assert.Equal(2, events.Length);
        Assert.Equal("ping", events[0].EventType);
        Assert.Equal("x", events[0].Data);
        Assert.Equal("message", events[1].EventType);
        Assert.Equal("y", events[1].Data);
    }

    [Fact]
    public void Last_event_without_trailing_blank_line_is_still_delivered()
    {
        var events = SseEvents.Parse("data: a\n\ndata: [DONE]").Select(e => e.Data).ToArray();
        Assert.Equal(["a", "[DONE]"], events);
    }

    [Theory]
    [InlineData("data: {}", true)]
    [InlineData("\n\n  data: {}", true)]
    [InlineData("event: x\ndata: y", true)]
    [InlineData(": comment\n", true)]
    [InlineData("{\"id\":1}", false)]
    [InlineData("", false)]
    public void Event_stream_detection_matches_the_seed(string body, bool expected) =>
        Assert.Equal(expected, SseEvents.LooksLikeEventStream(body));

    [Theory]
    [InlineData("[DONE]", true)]
    [InlineData(" [DONE] ", true)]
    [InlineData("[done]", false)]
    [InlineData("{}", false)]
    public void Done_marker(string data, bool expected) =>
        Assert.Equal(expected, SseEvents.IsDone(System.Text.Encoding.UTF8.GetBytes(data)));
}
