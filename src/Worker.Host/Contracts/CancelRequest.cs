using System.Text.Json.Serialization;

namespace Worker.Host.Contracts;

/// <summary>
/// Asks every worker to cancel a job by id: published to the control exchange (<c>RabbitMq:ControlExchange</c>) with
/// routing key <see cref="RoutingKey"/>. A job in flight is stopped; one not yet received is answered cancelled when it arrives.
/// </summary>
public sealed record CancelRequest
{
    public const string RoutingKey = "cancel";

    [JsonPropertyName("id")]
    public required string Id { get; init; }
}
