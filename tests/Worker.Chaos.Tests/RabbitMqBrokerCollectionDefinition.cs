using Worker.Testing;

// The chaos run and the process tests are timing-sensitive on a small machine: one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Worker.Chaos.Tests;

/// <summary>One broker container for all broker tests of this assembly; they run one at a time (the chaos run restarts it).</summary>
[CollectionDefinition(RabbitMqBrokerCollection.Name)]
public sealed class RabbitMqBrokerCollectionDefinition : ICollectionFixture<RabbitMqBrokerFixture>;
