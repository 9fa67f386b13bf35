namespace Worker.Runtime.Tests.Support;

/// <summary>Timing-sensitive tests run alone, after the parallel ones, so 2 busy cores do not skew them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Serial (timing)";
}
