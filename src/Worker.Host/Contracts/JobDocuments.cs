using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Worker.Host.Contracts;

// The job forms as they travel (written by `enqueue` and producers, read by JobParser). Fields whose type the
// contract leaves open (params and metadata: any object; content: checked by the parser) are JsonElements; every
// other field is typed, so a wrong type is found by the deserializer, with its JSON path.

/// <summary>A job in our form (contract version 1). The parser checks id, tenant and version first (the envelope).</summary>
public sealed record JobMessage
{
    [JsonPropertyName("version")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Version { get; init; }

    /// <summary>A string; numbers are accepted and read as their digits.</summary>
    [JsonPropertyName("id")]
    [JsonConverter(typeof(JobIdConverter))]
    public string? Id { get; init; }

    [JsonPropertyName("tenant")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Tenant { get; init; }

    [JsonPropertyName("model")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Model { get; init; }

    /// <summary>The named endpoint (<c>Llm:Endpoints</c>) to send the job to; null = routed by its model.</summary>
    [JsonPropertyName("endpoint")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Endpoint { get; init; }

    [JsonPropertyName("stream")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Stream { get; init; }

    /// <summary>Publish the answer's text as it arrives (<c>completion.delta</c>); null = <c>Worker:Deltas</c>.</summary>
    [JsonPropertyName("deltas")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Deltas { get; init; }

    [JsonPropertyName("prompt")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Prompt { get; init; }

    [JsonPropertyName("messages")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public List<MessageDocument>? Messages { get; init; }

    [JsonPropertyName("params")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, JsonElement>? Params { get; init; }

    [JsonPropertyName("metadata")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? Metadata { get; init; }

    /// <summary>When the job stops being worth answering (RFC 3339); or <see cref="TtlSeconds"/>.</summary>
    [JsonPropertyName("deadline")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public DateTimeOffset? Deadline { get; init; }

    /// <summary>Seconds after it was enqueued (its AMQP timestamp) that the job stops being worth answering.</summary>
    [JsonPropertyName("ttl_seconds")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? TtlSeconds { get; init; }
}

/// <summary>One line of the OpenAI Batch API input.</summary>
public sealed record BatchLineDocument
{
    [JsonPropertyName("method")]
    public string? Method { get; init; }

    [JsonPropertyName("url")]
    public string? Url { get; init; }

    [JsonPropertyName("body")]
    public Dictionary<string, JsonElement>? Body { get; init; }
}

/// <summary>The typed part of a Batch line's body (the rest are pass-through parameters).</summary>
public sealed record BatchBodyDocument
{
    [JsonPropertyName("model")]
    public string? Model { get; init; }

    [JsonPropertyName("stream")]
    public bool? Stream { get; init; }

    [JsonPropertyName("messages")]
    public List<MessageDocument>? Messages { get; init; }
}

public sealed record MessageDocument
{
    [JsonPropertyName("role")]
    public required string Role { get; init; }

    /// <summary>A string or null; arrays (multimodal parts) are refused by the parser.</summary>
    [JsonPropertyName("content")]
    public JsonElement? Content { get; init; }

    [JsonPropertyName("name")]
    public JsonElement? Name { get; init; }
}

/// <summary>Reads a job id written as a string or a number (as its digits); writes a string.</summary>
public sealed class JobIdConverter : JsonConverter<string>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Number => System.Text.Encoding.UTF8.GetString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan),
        JsonTokenType.Null => null,
        _ => throw new JsonException("a job id must be a string or a number"),
    };

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value);
    }
}
