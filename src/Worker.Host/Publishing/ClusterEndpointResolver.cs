using RabbitMQ.Client;

namespace Worker.Host.Publishing;

/// <summary>
/// The order in which the connection (and each recovery attempt) tries the nodes of <c>RabbitMq:Hosts</c>: shuffled,
/// so workers spread over the cluster, except that the node whose connection was just lost goes last. A node that
/// died or froze is the worst first choice: a frozen one accepts TCP (through a proxy or a half-dead kernel) and then
/// costs the whole handshake timeout before the next node is tried.
/// </summary>
public sealed class ClusterEndpointResolver : IEndpointResolver
{
    private readonly IReadOnlyList<AmqpTcpEndpoint> _endpoints;
    private volatile AmqpTcpEndpoint? _lost;

    public ClusterEndpointResolver(IEnumerable<AmqpTcpEndpoint> endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        _endpoints = [.. endpoints];
    }

    /// <summary>Told the order handed out, once per connection attempt (for the log: which node an attempt began with).</summary>
    public Action<IReadOnlyList<AmqpTcpEndpoint>>? Resolved { get; init; }

    /// <summary>
    /// True while the connection this resolver serves is open. RabbitMQ.Client 7.2.2 starts a recovery when a connection
    /// it has already replaced closes late (a frozen node that wakes up and closes it): such an attempt would replace
    /// the healthy connection, so it is refused (<see cref="RecoveryNotNeededException"/>) and no node is tried.
    /// </summary>
    public Func<bool>? InUse { get; init; }

    /// <summary>Tries <paramref name="endpoint"/> last until another node is lost.</summary>
    public void Demote(AmqpTcpEndpoint endpoint) => _lost = endpoint;

    public IEnumerable<AmqpTcpEndpoint> All()
    {
        if (InUse?.Invoke() == true)
        {
            throw new RecoveryNotNeededException();
        }

        var shuffled = _endpoints.ToArray();
        Random.Shared.Shuffle(shuffled);
        AmqpTcpEndpoint[] order = _lost is { } lost ? [.. shuffled.Where(e => !Same(e, lost)), .. shuffled.Where(e => Same(e, lost))] : shuffled;
        Resolved?.Invoke(order);
        return order;
    }

    private static bool Same(AmqpTcpEndpoint a, AmqpTcpEndpoint b) =>
        string.Equals(a.HostName, b.HostName, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;
}

/// <summary>A recovery attempt while the connection in use is open: refused, see <see cref="ClusterEndpointResolver.InUse"/>.</summary>
public sealed class RecoveryNotNeededException : Exception
{
    public RecoveryNotNeededException()
        : base("the connection in use is open: recovery attempt refused")
    {
    }

    public RecoveryNotNeededException(string message)
        : base(message)
    {
    }

    public RecoveryNotNeededException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
