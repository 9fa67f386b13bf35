namespace Worker.Testing;

/// <summary>
/// Name of the xunit collection that shares one <see cref="RabbitMqBrokerFixture"/>.
/// xunit only discovers collection definitions in the test assembly itself, so each test project
/// declares (once):
/// <code>
/// [CollectionDefinition(RabbitMqBrokerCollection.Name)]
/// public sealed class RabbitMqBrokerCollectionDefinition : ICollectionFixture&lt;RabbitMqBrokerFixture&gt;;
/// </code>
/// and marks its broker test classes with <c>[Collection(RabbitMqBrokerCollection.Name)]</c>.
/// Tests of one collection run one after another, so a test may stop and restart the broker.
/// </summary>
public static class RabbitMqBrokerCollection
{
    /// <summary>The collection name.</summary>
    public const string Name = "RabbitMQ broker";
}
