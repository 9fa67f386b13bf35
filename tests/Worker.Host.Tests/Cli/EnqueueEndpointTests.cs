using Worker.Host.Cli;
using Worker.Host.Contracts;

namespace Worker.Host.Tests.Cli;

/// <summary><c>enqueue --endpoint</c>: prompt jobs carry the endpoint field the worker pins them by.</summary>
public sealed class EnqueueEndpointTests
{
    private static EnqueueCommand.Arguments Args(string? prompt, string? endpoint, FileInfo? file = null) =>
        new(prompt, file, 2, "claude-sonnet-4-5", null, false, null, TimeSpan.FromSeconds(10), Endpoint: endpoint);

    [Fact]
    public async Task Prompt_jobs_name_the_endpoint_and_the_worker_reads_it()
    {
        var jobs = await EnqueueCommand.LoadJobsAsync(Args("Pin me", "claude"), CancellationToken.None);

        Assert.Equal(2, jobs.Count);
        foreach (var line in jobs)
        {
            var parsed = new JobParser(1024 * 1024, "default", defaultStream: true).Parse(line.Body);
            Assert.Null(parsed.Rejection);
            Assert.Equal(("claude", "claude-sonnet-4-5", line.Id), (parsed.Job!.Endpoint, parsed.Job.Request.Model, parsed.Job.Id));
        }
    }

    [Fact]
    public async Task Without_the_option_no_endpoint_is_sent()
    {
        var job = (await EnqueueCommand.LoadJobsAsync(Args("Route me", null), CancellationToken.None))[0];
        Assert.DoesNotContain("\"endpoint\"", System.Text.Encoding.UTF8.GetString(job.Body), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("")]
    [InlineData("semi;colon")]
    public async Task A_malformed_endpoint_name_is_refused_before_anything_is_sent(string endpoint)
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => EnqueueCommand.LoadJobsAsync(Args("hi", endpoint), CancellationToken.None));
        Assert.Contains("--endpoint", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_file_the_endpoint_belongs_in_each_line()
    {
        var file = new FileInfo(Path.GetTempFileName());
        try
        {
            await File.WriteAllTextAsync(file.FullName, """{"id":"f1","prompt":"p","endpoint":"gemini"}""" + "\n");
            var error = await Assert.ThrowsAsync<ArgumentException>(() => EnqueueCommand.LoadJobsAsync(Args(null, "claude", file), CancellationToken.None));
            Assert.Contains("--file", error.Message, StringComparison.Ordinal);
            var line = Assert.Single(await EnqueueCommand.LoadJobsAsync(Args(null, null, file), CancellationToken.None));
            Assert.Equal("gemini", new JobParser(1024 * 1024, "default", defaultStream: true).Parse(line.Body).Job!.Endpoint);
        }
        finally
        {
            file.Delete();
        }
    }
}
