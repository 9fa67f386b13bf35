using Worker.Simulator.Faults;
using Worker.Simulator.Latency;

namespace Worker.Simulator.Streaming;

/// <summary>
/// Paces a streamed answer: time to first token, then one step per token, with in-stream faults injected at their
/// step. Paced streams are flushed after every step so the client really receives them chunk by chunk; unpaced ones
/// only when a buffer's worth is pending, and at the end.
/// </summary>
internal static class TokenStreamRunner
{
    private const int FlushThresholdBytes = 16 * 1024;

    public static async Task<StreamEnd> RunAsync(
        HttpContext context,
        StreamOutput output,
        TokenStreamFormatter formatter,
        int steps,
        LatencyProfile latency,
        FaultPlan fault,
        CancellationToken cancellationToken)
    {
        var faultStep = fault.IsInStream ? fault.TriggerStep(steps) : -1;

        await LatencyProfile.DelayAsync(latency.TimeToFirstToken, cancellationToken);
        formatter.WriteStart();

        for (var step = 0; ; step++)
        {
            if (step == faultStep)
            {
                switch (fault.Mode)
                {
                    case FaultMode.Drop:
                        await output.DropAsync(context, cancellationToken);
                        return StreamEnd.Faulted;
                    case FaultMode.ErrorEvent:
                        formatter.WriteErrorEvent();
                        await output.FlushAsync(cancellationToken);
                        return StreamEnd.Faulted;
                    case FaultMode.Malformed:
                        formatter.WriteMalformedEvent();
                        break;
                }
            }

            if (step == steps)
            {
                break;
            }

            if (step > 0)
            {
                await LatencyProfile.DelayAsync(latency.TimePerToken, cancellationToken);
            }

            formatter.WriteStep(step);
            if (latency.IsPaced || formatter.UnflushedBytes >= FlushThresholdBytes)
            {
                var flushed = await output.FlushAsync(cancellationToken);
                formatter.MarkFlushed();
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    return StreamEnd.ClientGone;
                }
            }
        }

        formatter.WriteFinish();
        var last = await output.FlushAsync(cancellationToken);
        return last.IsCompleted || last.IsCanceled ? StreamEnd.ClientGone : StreamEnd.Completed;
    }
}
