using Worker.Runtime.Configuration;

namespace Worker.Runtime.Server;

/// <summary>What one connection may hold and how long it may take (from <see cref="RuntimeServerOptions"/>).</summary>
internal sealed record ConnectionLimits(
    int MaxInFlight,
    long MaxUnsentBytes,
    TimeSpan IdleTimeout,
    TimeSpan FrameTimeout,
    TimeSpan WriteTimeout)
{
    public static ConnectionLimits From(RuntimeServerOptions options) => new(
        options.EffectiveMaxInFlightPerConnection,
        options.MaxUnsentBytesPerConnection,
        options.IdleTimeout,
        options.FrameTimeout,
        options.WriteTimeout);
}
