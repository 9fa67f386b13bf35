using System.Text.Json;

namespace Worker.Connector.OpenAi;

/// <summary>One chat message.</summary>
public sealed record ChatMessage(string Role, string? Content)
{
    public string? Name { get; init; }

    public static ChatMessage User(string content) => new("user", content);

    public static ChatMessage System(string content) => new("system", content);
}

/// <summary>A typed <c>/v1/chat/completions</c> request.</summary>
public sealed record ChatCompletionRequest
{
    /// <summary>Null = <see cref="OpenAiOptions.Model"/>.</summary>
    public string? Model { get; init; }

    public required IReadOnlyList<ChatMessage> Messages { get; init; }
    public double? Temperature { get; init; }
    public int? MaxTokens { get; init; }

    /// <summary>
    /// Ask for an event stream. Default true. Our runtime streams it through to the client, which parses it as it
    /// arrives and keeps only the answer; a runtime that collects it whole (the original) works the same, later.
    /// </summary>
    public bool Stream { get; init; } = true;

    /// <summary>With <see cref="Stream"/>, ask for the usage chunk (<c>stream_options.include_usage</c>). Default true.</summary>
    public bool IncludeUsage { get; init; } = true;

    /// <summary>Any other body parameters (top_p, stop, tools, response_format, ...), passed through as they are.</summary>
    public IReadOnlyDictionary<string, JsonElement>? ExtraParameters { get; init; }

    /// <summary>Extra request headers (e.g. test headers for the simulator). Never logged.</summary>
    public IReadOnlyDictionary<string, string>? ExtraHeaders { get; init; }

    /// <summary>With <see cref="Stream"/>: told of the first token and each text delta as they arrive. Default none.</summary>
    public IChatStreamObserver? Observer { get; init; }

    public TimeSpan? Timeout { get; init; }
    public string? TenantId { get; init; }
    public string? WorkspaceId { get; init; }
}
