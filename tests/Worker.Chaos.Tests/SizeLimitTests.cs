using System.Text;
using System.Text.Json;
using Worker.Host.Tests.Integration;
using Worker.Testing;

namespace Worker.Chaos.Tests;

/// <summary>
/// The size limits where input enters the worker (see docs/security.md): job bytes (<c>Worker:MaxJobBytes</c>) and
/// upstream response bytes (<c>Runtime:MaxResponseBytes</c>). Frame bytes are in <see cref="FrameLimitTests"/>.
/// </summary>
[Collection(RabbitMqBrokerCollection.Name)]
public sealed class SizeLimitTests(RabbitMqBrokerFixture broker)
{
    [Fact]
    public async Task A_job_of_exactly_Worker_MaxJobBytes_is_processed_and_one_byte_more_is_dead_lettered_unread()
    {
        const int limit = 4096;
        await using var harness = await WorkerHarness.StartAsync(broker, configure: s => s["Worker:MaxJobBytes"] = limit.ToString(System.Globalization.CultureInfo.InvariantCulture));

        await harness.PublishRawAsync(JobOfSize("at-the-limit", limit));
        await harness.PublishRawAsync(JobOfSize("over-the-limit", limit + 1));

        var result = Assert.Single(await harness.ResultsAsync(1));
        Assert.Equal("at-the-limit", result.Id);
        Assert.Equal("succeeded", result.Status);
        var dead = Assert.Single(await harness.DeadLettersAsync(1));
        Assert.Equal(limit + 1, dead.Body.Length);
        var reason = Encoding.UTF8.GetString((byte[])dead.BasicProperties.Headers!["x-reject-reason"]!);
        Assert.StartsWith("too_large", reason, StringComparison.Ordinal);
        Assert.Contains("Worker:MaxJobBytes", reason, StringComparison.Ordinal);

        // Read unparsed: no id, so no result was published for it.
        Assert.Empty(await harness.ResultsWithinAsync(TimeSpan.FromMilliseconds(500)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_upstream_answer_over_Runtime_MaxResponseBytes_fails_the_job_permanently_without_retries(bool stream)
    {
        await using var harness = await WorkerHarness.StartAsync(broker, configure: s => s["Runtime:MaxResponseBytes"] = "32768");

        await harness.PublishAsync([
            JsonSerializer.Serialize(new { id = "huge", prompt = "Write a lot", stream, @params = new { sim_tokens = 20_000 } }),
            JsonSerializer.Serialize(new { id = "small", prompt = "Write a little", stream, @params = new { sim_tokens = 50 } }),
        ]);

        var results = (await harness.ResultsAsync(2, TimeSpan.FromSeconds(60))).ToDictionary(r => r.Id);
        Assert.Equal("succeeded", results["small"].Status);
        var huge = results["huge"];
        Assert.Equal("failed", huge.Status);
        var error = huge.Json.GetProperty("error");
        Assert.Equal("Permanent", error.GetProperty("class").GetString());
        Assert.Contains("Runtime:MaxResponseBytes", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, huge.Attempts);
    }

    /// <summary>A valid job padded (inside an unknown field) to exactly <paramref name="size"/> bytes.</summary>
    private static byte[] JobOfSize(string id, int size)
    {
        var head = $$"""{"id":"{{id}}","prompt":"Sized job","pad":" """;
        const string tail = "\"}";
        return Encoding.UTF8.GetBytes(head + new string('x', size - Encoding.UTF8.GetByteCount(head) - tail.Length) + tail);
    }
}
