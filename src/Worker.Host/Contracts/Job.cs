using System.Text.Json;
using Worker.Connector.OpenAi;

namespace Worker.Host.Contracts;

/// <summary>Which input form a job arrived in.</summary>
public enum JobForm
{
    /// <summary>Our form: <c>{"id", "prompt" | "messages", ...}</c>.</summary>
    Native,

    /// <summary>One line of the OpenAI Batch API input: <c>{"custom_id", "method", "url", "body"}</c>.</summary>
    Batch,
}

/// <summary>A validated prompt job (contract version 1).</summary>
public sealed record Job
{
    public required string Id { get; init; }
    public required string Tenant { get; init; }

    /// <summary>Null = the configured model.</summary>
    public string? Model { get; init; }

    public required IReadOnlyList<ChatMessage> Messages { get; init; }
    public bool Stream { get; init; }
    public double? Temperature { get; init; }
    public int? MaxTokens { get; init; }

    /// <summary>Other request parameters, passed through to the endpoint.</summary>
    public IReadOnlyDictionary<string, JsonElement> Extras { get; init; } = new Dictionary<string, JsonElement>();

    /// <summary>Caller's metadata, echoed on the result untouched.</summary>
    public JsonElement? Metadata { get; init; }

    public JobForm Form { get; init; }

    /// <summary>Batch form: the line's custom_id (also the job id).</summary>
    public string? CustomId { get; init; }
}
