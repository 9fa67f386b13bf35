namespace Worker.Connector.OpenAi;

/// <summary>
/// Watches a streamed completion as it arrives (set on <see cref="ChatCompletionRequest.Observer"/>): the moment of
/// the first token, then each text delta. Called in order on the call's own flow; a slow observer slows only its own
/// stream (the runtime then stops reading that upstream), never other calls. Exceptions end the call.
/// </summary>
public interface IChatStreamObserver
{
    /// <summary>The first content, refusal or tool-call delta arrived, <paramref name="timeToFirstToken"/> after the request was sent.</summary>
    ValueTask OnFirstTokenAsync(TimeSpan timeToFirstToken, CancellationToken cancellationToken);

    /// <summary>A piece of one choice's text, in order.</summary>
    ValueTask OnDeltaAsync(ChatDelta delta, CancellationToken cancellationToken);
}

/// <summary>A piece of a choice's answer text, as the stream delivered it.</summary>
public sealed record ChatDelta(int ChoiceIndex, string Content);
