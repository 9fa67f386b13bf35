namespace Worker.Runtime.Tests.Support;

/// <summary>One upstream per test class.</summary>
public sealed class UpstreamFixture : IAsyncLifetime
{
    public TestUpstream Upstream { get; private set; } = null!;

    public async Task InitializeAsync() => Upstream = await TestUpstream.StartAsync();

    public async Task DisposeAsync() => await Upstream.DisposeAsync();
}
