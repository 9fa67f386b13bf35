using Worker.Connector.Http;
using Worker.Connector.Protocol;

namespace Worker.Connector.OpenAi;

/// <summary>
/// Reads a chat completion from a streamed runtime answer (shared by <see cref="OpenAiChatClient"/> and
/// <see cref="Ai.RuntimeChatClient"/>): an event stream is parsed as it arrives and only the answer kept; an error
/// status, or a JSON body where a stream was asked for, is read whole (it is small) and handled as a whole answer is.
/// </summary>
internal static class StreamedCompletionReader
{
    public static async Task<ChatCompletion> ReadAsync(
        HttpResponseStream response, string url, IChatStreamObserver? observer, long startedTimestamp, CancellationToken cancellationToken)
    {
        if (!response.Is2xx || !response.IsEventStream)
        {
            var whole = await response.ReadWholeAsync(FrameCodec.MaxPayloadLength, cancellationToken);
            whole.EnsureSuccess(url);
            var parsed = ChatCompletionParser.Parse(whole.BodyUtf8);
            return parsed with
            {
                RequestId = whole.GetHeader("x-request-id"),
                RateLimit = RateLimitHeaders.Read(whole),
                JsonBody = parsed.Streamed ? ReadOnlyMemory<byte>.Empty : whole.BodyUtf8,
            };
        }

        // The blank line after a normal end delivers a last event that lacks its own, as the whole-body parse does.
        await using var body = response.AsStream(endWithBlankLine: true);
        var completion = await ChatCompletionParser.ParseStreamAsync(body, observer, startedTimestamp, cancellationToken);
        return completion with { RequestId = response.GetHeader("x-request-id"), RateLimit = RateLimitHeaders.Read(response) };
    }
}
