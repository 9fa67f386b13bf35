using System.Text.Json.Serialization;

namespace Worker.Host.Contracts;

/// <summary>
/// A piece of a job's answer published while it streams (routing key <see cref="RoutingKey"/>, correlation id = job
/// id), for jobs that ask for deltas. <see cref="Seq"/> counts from 0 per attempt; a retried attempt starts a new
/// stream with a higher <see cref="Attempt"/> and <see cref="Seq"/> 0 again, so a reader drops what it had and starts
/// over. The final result stays the one authoritative answer.
/// </summary>
public sealed record JobDelta
{
    public const string RoutingKey = "completion.delta";

    [JsonPropertyName("version")]
    public int Version { get; init; } = JobContract.Version;

    [JsonPropertyName("id")]
    public required string Id { get; init; }

    [JsonPropertyName("tenant")]
    public required string Tenant { get; init; }

    /// <summary>The attempt this text belongs to, from 1.</summary>
    [JsonPropertyName("attempt")]
    public int Attempt { get; init; }

    /// <summary>0, 1, 2, ... in order within one attempt, without gaps.</summary>
    [JsonPropertyName("seq")]
    public int Seq { get; init; }

    /// <summary>The text that arrived since the previous delta (of choice 0).</summary>
    [JsonPropertyName("content")]
    public required string Content { get; init; }
}
