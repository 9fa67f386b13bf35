using Worker.Host.Contracts;

namespace Worker.Host.Streaming;

/// <summary>Publishes one delta with a confirm (one try, under the publish timeout): a lost delta is not worth a retry, the final result is authoritative.</summary>
public interface IDeltaPublisher
{
    Task PublishDeltaAsync(JobDelta delta, CancellationToken cancellationToken);
}
