using System.Diagnostics;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using Worker.Connector.Sse;

namespace Worker.Connector.OpenAi;

/// <summary>Turns a chat-completions answer body (an SSE stream or a <c>chat.completion</c> object) into a <see cref="ChatCompletion"/>.</summary>
public static class ChatCompletionParser
{
    /// <summary>
    /// Parses either form. Like the seed, a body that starts with <c>data:</c> is parsed as SSE even when a
    /// non-streaming answer was asked for.
    /// </summary>
    /// <exception cref="ConnectorException">An error object or event, a malformed body, or a truncated stream.</exception>
    public static ChatCompletion Parse(string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Parse(Encoding.UTF8.GetBytes(body));
    }

    /// <summary>Like <see cref="Parse(string)"/>, from the UTF-8 body without decoding it to a string.</summary>
    public static ChatCompletion Parse(ReadOnlyMemory<byte> utf8Body) =>
        SseEvents.LooksLikeEventStream(utf8Body.Span) ? ParseStream(utf8Body) : ParseJson(utf8Body.Span);

    /// <summary>Parses a whole <c>text/event-stream</c> body of <c>chat.completion.chunk</c> events.</summary>
    public static ChatCompletion ParseStream(ReadOnlyMemory<byte> utf8Body)
    {
        var accumulator = new ChatCompletionAccumulator();
        foreach (var item in SseEvents.Parse(utf8Body, ParseChunk))
        {
            Apply(accumulator, item.Data);
        }

        return accumulator.Build(streamed: true);
    }

    /// <summary>Parses an event stream as it arrives (for a direct HTTP stream rather than the runtime's whole body).</summary>
    public static async Task<ChatCompletion> ParseStreamAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        var accumulator = new ChatCompletionAccumulator();
        await foreach (var item in SseEvents.ParseAsync(stream, ParseChunk, cancellationToken))
        {
            Apply(accumulator, item.Data);
        }

        return accumulator.Build(streamed: true);
    }

    /// <summary>
    /// Parses an event stream as it arrives, keeping only the answer (text, tool calls, finish_reason, usage), and
    /// tells <paramref name="observer"/> of the first token and each text delta. <paramref name="startedTimestamp"/>
    /// (a <see cref="Stopwatch.GetTimestamp"/> taken when the request was sent) is what time to first token counts from.
    /// </summary>
    /// <exception cref="ConnectorException">An error event, a malformed chunk, a truncated stream, or the stream's own failure.</exception>
    public static async Task<ChatCompletion> ParseStreamAsync(
        Stream stream, IChatStreamObserver? observer, long startedTimestamp, CancellationToken cancellationToken = default)
    {
        var accumulator = new ChatCompletionAccumulator();
        TimeSpan? firstToken = null;
        DateTimeOffset? firstTokenAt = null;
        SseItemParser<ChunkEvent> parse = (type, data) => ParseChunk(type, data, accumulator.HeaderKnown);
        await foreach (var item in SseEvents.ParseAsync(stream, parse, cancellationToken))
        {
            Apply(accumulator, item.Data);
            if (item.Data is not { Kind: ChunkKind.Chunk, Chunk.Choices: { } choices })
            {
                continue;
            }

            if (firstToken is null && HasToken(choices))
            {
                firstToken = Stopwatch.GetElapsedTime(startedTimestamp);
                firstTokenAt = DateTimeOffset.UtcNow;
                if (observer is not null)
                {
                    await observer.OnFirstTokenAsync(firstToken.Value, cancellationToken);
                }
            }

            if (observer is null)
            {
                continue;
            }

            foreach (var choice in choices)
            {
                if ((choice.Delta ?? choice.Message)?.Content is { Length: > 0 } text)
                {
                    await observer.OnDeltaAsync(new ChatDelta(choice.Index, text), cancellationToken);
                }
            }
        }

        return accumulator.Build(streamed: true) with { TimeToFirstToken = firstToken, FirstTokenAt = firstTokenAt };
    }

    private static bool HasToken(List<ChoiceDto> choices)
    {
        foreach (var choice in choices)
        {
            if ((choice.Delta ?? choice.Message) is { } delta
                && (!string.IsNullOrEmpty(delta.Content) || !string.IsNullOrEmpty(delta.Refusal) || delta.ToolCalls is { Count: > 0 }))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Parses a non-streaming <c>chat.completion</c> object (or an error object).</summary>
    public static ChatCompletion ParseJson(string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return ParseJson(Encoding.UTF8.GetBytes(body));
    }

    /// <summary>Parses a non-streaming <c>chat.completion</c> object (or an error object) from UTF-8.</summary>
    public static ChatCompletion ParseJson(ReadOnlySpan<byte> body)
    {
        ChunkDto? completion;
        try
        {
            completion = ChunkReader.Read(body);
        }
        catch (JsonException ex)
        {
            throw new ConnectorException(ErrorClass.Transient, $"The completion body is neither JSON nor an event stream: {ex.Message}", ex);
        }

        if (completion is null)
        {
            throw new ConnectorException(ErrorClass.Transient, "The completion body is JSON null.");
        }

        if (completion.Choices is null && completion.Error is null)
        {
            throw new ConnectorException(ErrorClass.Transient, "The completion body has no choices.");
        }

        var accumulator = new ChatCompletionAccumulator();
        accumulator.Add(completion);
        return accumulator.Build(streamed: false);
    }

    private static void Apply(ChatCompletionAccumulator accumulator, ChunkEvent chunk)
    {
        switch (chunk.Kind)
        {
            case ChunkKind.Done:
                accumulator.MarkDone();
                break;
            case ChunkKind.Chunk:
                accumulator.Add(chunk.Chunk!);
                break;
            case ChunkKind.Malformed:
                throw new ConnectorException(ErrorClass.Transient, $"The completion stream carried a malformed chunk: {chunk.Problem}");
            default:
                break;
        }
    }

    // Runs on each event's UTF-8 data: the chunk is deserialized straight from the bytes.
    private static ChunkEvent ParseChunk(string eventType, ReadOnlySpan<byte> data) => ParseChunk(eventType, data, headerKnown: false);

    private static ChunkEvent ParseChunk(string eventType, ReadOnlySpan<byte> data, bool headerKnown)
    {
        if (SseEvents.IsDone(data))
        {
            return new ChunkEvent(ChunkKind.Done, null, null);
        }

        if (data.Trim(" \t\r\n"u8).IsEmpty)
        {
            return new ChunkEvent(ChunkKind.Empty, null, null);
        }

        try
        {
            var chunk = ChunkReader.Read(data, headerKnown);
            return chunk is null ? new ChunkEvent(ChunkKind.Malformed, null, "null") : new ChunkEvent(ChunkKind.Chunk, chunk, null);
        }
        catch (JsonException ex)
        {
            return new ChunkEvent(ChunkKind.Malformed, null, ex.Message);
        }
    }

    private enum ChunkKind
    {
        Empty,
        Chunk,
        Done,
        Malformed,
    }

    private readonly record struct ChunkEvent(ChunkKind Kind, ChunkDto? Chunk, string? Problem);
}
