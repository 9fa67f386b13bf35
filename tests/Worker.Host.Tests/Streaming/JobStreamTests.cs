using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Worker.Connector.OpenAi;
using Worker.Host.Contracts;
using Worker.Host.Streaming;
using Worker.Testing;

namespace Worker.Host.Tests.Streaming;

public sealed class JobStreamTests
{
    private static readonly Job TheJob = new()
    {
        Id = "job-1",
        Tenant = "acme",
        Request = new ChatCompletionRequest { Messages = [ChatMessage.User("hi")] },
    };

    private sealed class Recorder(TimeSpan delay = default, bool fail = false) : IDeltaPublisher
    {
        public ConcurrentQueue<JobDelta> Published { get; } = new();

        public async Task PublishDeltaAsync(JobDelta delta, CancellationToken cancellationToken)
        {
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, cancellationToken);
            }

            if (fail)
            {
                throw new TimeoutException("broker too slow");
            }

            Published.Enqueue(delta);
        }
    }

    private static async Task StreamAsync(JobStream stream, IEnumerable<string> pieces, int choice = 0)
    {
        foreach (var piece in pieces)
        {
            await stream.OnDeltaAsync(new ChatDelta(choice, piece), CancellationToken.None);
        }
    }

    [Fact]
    public async Task Deltas_are_numbered_in_order_and_add_up_to_the_text_once_completed()
    {
        var recorder = new Recorder();
        await using var stream = new JobStream(TheJob, recorder, TimeSpan.FromMinutes(1), maxPieces: 4, NullLogger.Instance);
        stream.BeginAttempt(1);
        var pieces = Enumerable.Range(0, 50).Select(i => $"w{i} ").ToList();
        await StreamAsync(stream, pieces);
        await StreamAsync(stream, ["other choice"], choice: 1);
        await stream.CompleteAsync(CancellationToken.None);

        var deltas = recorder.Published.ToList();
        Assert.Equal(Enumerable.Range(0, deltas.Count), deltas.Select(d => d.Seq));
        Assert.Equal(string.Concat(pieces), string.Concat(deltas.Select(d => d.Content)));
        Assert.Equal(string.Concat(pieces), stream.PartialText);
        Assert.All(deltas, d => Assert.Equal(("job-1", "acme", 1), (d.Id, d.Tenant, d.Attempt)));
        Assert.Equal(deltas.Count, stream.Published);
    }

    [Fact]
    public async Task A_slow_broker_gets_fewer_larger_deltas_and_never_slows_the_stream()
    {
        var recorder = new Recorder(TimeSpan.FromMilliseconds(100));
        await using var stream = new JobStream(TheJob, recorder, TimeSpan.FromMilliseconds(1), maxPieces: 1, NullLogger.Instance);
        stream.BeginAttempt(1);
        var pieces = Enumerable.Range(0, 200).Select(i => $"{i},").ToList();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await StreamAsync(stream, pieces);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"the observer blocked the stream for {watch.Elapsed}");
        await stream.CompleteAsync(CancellationToken.None);

        Assert.True(recorder.Published.Count < pieces.Count / 2, $"{recorder.Published.Count} deltas for {pieces.Count} pieces");
        Assert.Equal(string.Concat(pieces), string.Concat(recorder.Published.Select(d => d.Content)));
    }

    [Fact]
    public async Task A_retried_attempt_starts_its_text_and_numbering_again()
    {
        var recorder = new Recorder();
        await using var stream = new JobStream(TheJob, recorder, TimeSpan.FromMinutes(1), maxPieces: 1, NullLogger.Instance);
        stream.BeginAttempt(1);
        await StreamAsync(stream, ["broken "]);
        await Eventually.TrueAsync(() => !recorder.Published.IsEmpty, TimeSpan.FromSeconds(5));
        stream.BeginAttempt(2);
        await StreamAsync(stream, ["good ", "answer"]);
        await stream.CompleteAsync(CancellationToken.None);

        Assert.Equal("good answer", stream.PartialText);
        var second = recorder.Published.Where(d => d.Attempt == 2).ToList();
        Assert.Equal(Enumerable.Range(0, second.Count), second.Select(d => d.Seq));
        Assert.Equal("good answer", string.Concat(second.Select(d => d.Content)));
    }

    [Fact]
    public async Task A_failed_publish_ends_the_deltas_but_not_the_stream()
    {
        var recorder = new Recorder(fail: true);
        await using var stream = new JobStream(TheJob, recorder, TimeSpan.FromMinutes(1), maxPieces: 1, NullLogger.Instance);
        stream.BeginAttempt(1);
        await StreamAsync(stream, ["a", "b", "c"]);
        await stream.CompleteAsync(CancellationToken.None);
        Assert.Empty(recorder.Published);
        Assert.Equal("abc", stream.PartialText);
    }

    [Fact]
    public async Task Without_a_publisher_only_the_text_is_kept()
    {
        await using var stream = new JobStream(TheJob, publisher: null, TimeSpan.FromMilliseconds(1), maxPieces: 1, NullLogger.Instance);
        stream.BeginAttempt(1);
        await StreamAsync(stream, ["partial ", "text"]);
        await stream.CompleteAsync(CancellationToken.None);
        Assert.Equal("partial text", stream.PartialText);
        Assert.Equal(0, stream.Published);
    }
}
