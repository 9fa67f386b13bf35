namespace Worker.Connector.OpenAi;

/// <summary>A finished chat completion, from a stream of chunks or a <c>chat.completion</c> object.</summary>
public sealed record ChatCompletion
{
    public string? Id { get; init; }
    public string? Model { get; init; }
    public long? Created { get; init; }
    public string? SystemFingerprint { get; init; }
    public IReadOnlyList<ChatChoice> Choices { get; init; } = [];
    public ChatUsage? Usage { get; init; }

    /// <summary>True when it came from an event stream.</summary>
    public bool Streamed { get; init; }

    /// <summary>The upstream's <c>x-request-id</c>, when it sent one.</summary>
    public string? RequestId { get; init; }

    /// <summary>The upstream's rate-limit headers on this answer, when it sent them.</summary>
    public Http.RateLimitSnapshot? RateLimit { get; init; }

    /// <summary>
    /// The upstream's JSON body as it came, for a non-streamed answer (empty for a stream): everything the parser does
    /// not model (service_tier, logprobs, usage details) stays available, without a copy.
    /// </summary>
    public ReadOnlyMemory<byte> JsonBody { get; init; }

    /// <summary>
    /// For a streamed answer: time from sending the request to the first content, refusal or tool-call delta, as the
    /// client saw it (null when not streamed, or no such delta came). From a runtime that answers whole it is the time
    /// to the whole body.
    /// </summary>
    public TimeSpan? TimeToFirstToken { get; init; }

    /// <summary>When that first delta arrived (wall clock), e.g. for a span event at the moment itself.</summary>
    public DateTimeOffset? FirstTokenAt { get; init; }

    /// <summary>Which API answered: <c>openai</c>, <c>anthropic</c> or <c>gemini</c> (null when not recorded).</summary>
    public string? Provider { get; init; }

    /// <summary>
    /// The provider's own finish reason (e.g. Anthropic's <c>end_turn</c>, Gemini's <c>SAFETY</c>) when
    /// <see cref="FinishReason"/> is it mapped to the OpenAI vocabulary.
    /// </summary>
    public string? ProviderFinishReason { get; init; }

    /// <summary>The first choice's text ("" when none).</summary>
    public string Content => Choices.Count > 0 ? Choices[0].Content ?? "" : "";

    public string? FinishReason => Choices.Count > 0 ? Choices[0].FinishReason : null;
}

public sealed record ChatChoice
{
    public int Index { get; init; }
    public string Role { get; init; } = "assistant";
    public string? Content { get; init; }
    public string? Refusal { get; init; }
    public string? FinishReason { get; init; }
    public IReadOnlyList<ChatToolCall> ToolCalls { get; init; } = [];
}

/// <summary>A tool call; in a stream its arguments arrive in pieces and are concatenated.</summary>
public sealed record ChatToolCall(int Index, string? Id, string? Type, string? FunctionName, string Arguments);

public sealed record ChatUsage(int PromptTokens, int CompletionTokens, int TotalTokens);
