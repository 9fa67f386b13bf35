using Worker.Testing;

namespace Worker.Host.Tests;

/// <summary>One broker (container or RABBITMQ_URI) for all broker tests of this assembly; they run one at a time.</summary>
[CollectionDefinition(RabbitMqBrokerCollection.Name)]
public sealed class RabbitMqBrokerCollectionDefinition : ICollectionFixture<RabbitMqBrokerFixture>;
