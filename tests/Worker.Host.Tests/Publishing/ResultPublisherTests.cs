using System.Text;
using Worker.Host.Publishing;

namespace Worker.Host.Tests.Publishing;

public sealed class ResultPublisherTests
{
    [Fact]
    public void A_jobs_headers_are_copied_to_its_dead_letter_while_they_fit_the_budget()
    {
        var headers = new Dictionary<string, object?> { ["traceparent"] = "00-abc-def-01", ["x-count"] = 3, ["nested"] = new Dictionary<string, object?> { ["k"] = "v" } };
        var copied = ResultPublisher.CopyHeaders(headers);
        Assert.Equal(headers.Keys.Order(), copied.Keys.Order());
    }

    [Fact]
    public void Headers_over_the_budget_are_dropped_whole_with_a_marker()
    {
        var headers = new Dictionary<string, object?> { ["small"] = "x", ["huge"] = Encoding.UTF8.GetBytes(new string('h', ResultPublisher.MaxCopiedHeaderBytes)) };
        var copied = ResultPublisher.CopyHeaders(headers);
        Assert.Equal(["x-original-headers-dropped"], copied.Keys);
        Assert.True((int)copied["x-original-headers-dropped"]! > ResultPublisher.MaxCopiedHeaderBytes);
    }

    [Theory]
    [InlineData(10, 10)]
    [InlineData(4000, ResultPublisher.MaxReasonBytes)]
    public void Reasons_are_clipped_in_bytes_on_a_character_boundary(int euros, int maxBytes)
    {
        var text = string.Concat(Enumerable.Repeat("€", euros));
        var clipped = ResultPublisher.ClipUtf8(text, maxBytes);
        Assert.True(Encoding.UTF8.GetByteCount(clipped) <= Math.Max(maxBytes, Encoding.UTF8.GetByteCount(text) <= maxBytes ? maxBytes : 0));
        Assert.Equal(euros * 3 <= maxBytes, clipped == text);
        Assert.DoesNotContain('\uFFFD', clipped);
    }
}
