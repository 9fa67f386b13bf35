using System.Buffers;
using Worker.Simulator.Faults;
using Worker.Simulator.Generation;
using Worker.Simulator.Http;
using Worker.Simulator.Latency;
using Worker.Simulator.Limits;
using Worker.Simulator.Streaming;

namespace Worker.Simulator.Endpoints;

/// <summary>
/// The request flow shared by chat completions, Gemini and /generate: count in, admit (key, headers), read the body,
/// charge the rate limits, take a generation slot, decide the fault, then answer, stream or fail as decided. Subclasses only read their request and write their shape.
/// </summary>
internal abstract class GenerationEndpoint<TRequest>(GenerationGate gate)
    where TRequest : class
{
    protected abstract ErrorDialect Dialect { get; }

    public async Task HandleAsync(HttpContext context)
    {
        var cancellationToken = context.RequestAborted;
        using var inFlight = gate.Stats.BeginRequest();
        try
        {
            if (!gate.TryAdmit(context, Dialect, out var directives))
            {
                return;
            }

            var (request, error) = await ReadRequestAsync(context, cancellationToken);
            if (request is null)
            {
                gate.Reject(context, error!, Dialect);
                return;
            }

            if (!gate.TryAdmitRate(context, Dialect, Charge(request)))
            {
                return;
            }

            if (!await gate.TryEnterGenerationAsync(context, Dialect, cancellationToken))
            {
                return;
            }

            try
            {
                await GenerateAsync(context, request, directives, cancellationToken);
            }
            finally
            {
                // The slot is held to the end, streams included; a non-streaming body only sits in the pipe now.
                gate.LeaveGeneration();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException && cancellationToken.IsCancellationRequested)
        {
            // The client went away (mid-body reads surface as IOException); nothing left to answer.
            gate.RecordClientDisconnect(context);
        }
    }

    /// <summary>What the request costs against the rate limits (<see cref="RequestCharge"/>).</summary>
    protected abstract RequestCharge Charge(TRequest request);

    /// <summary>Reads and validates the body: the request, or the error to answer with.</summary>
    protected abstract ValueTask<(TRequest? Request, ApiError? Error)> ReadRequestAsync(HttpContext context, CancellationToken cancellationToken);

    protected abstract bool IsStreaming(HttpContext context, TRequest request);

    /// <summary>Length rules: X-Sim-Tokens, then the body's own length field, then the default; cut by max tokens.</summary>
    protected abstract AnswerPlan CreatePlan(TRequest request, in SimDirectives directives);

    protected abstract TokenStreamFormatter CreateFormatter(IBufferWriter<byte> output, HttpContext context, TRequest request, AnswerPlan plan);

    protected abstract StreamFraming Framing(HttpContext context, TRequest request);

    /// <summary>Writes the non-streaming answer into the response pipe (sent when the handler returns); returns its length.</summary>
    protected abstract long WriteAnswer(HttpContext context, TRequest request, AnswerPlan plan);

    private async Task GenerateAsync(HttpContext context, TRequest request, SimDirectives directives, CancellationToken cancellationToken)
    {
        var fault = gate.ChooseFault(directives, context);
        var streaming = IsStreaming(context, request);
        if (await gate.TryAnswerFaultAsync(context, fault, Dialect, streaming, cancellationToken))
        {
            return;
        }

        var plan = CreatePlan(request, directives);
        if (streaming)
        {
            await StreamAsync(context, request, plan, directives.Latency, fault, cancellationToken);
            return;
        }

        await LatencyProfile.DelayAsync(directives.Latency.NonStreamingDelay(plan.Tokens), cancellationToken);
        if (!GenerationGate.TryAnswerNonStreamingFault(context, fault, Dialect))
        {
            context.Response.ContentType = ContentTypes.Json;
            context.Response.ContentLength = WriteAnswer(context, request, plan);
        }
    }

    private async Task StreamAsync(HttpContext context, TRequest request, AnswerPlan plan, LatencyProfile latency, FaultPlan fault, CancellationToken cancellationToken)
    {
        var output = StreamOutput.Start(context, Framing(context, request), endsWithDrop: fault.Mode == FaultMode.Drop);
        using var formatter = CreateFormatter(output.Writer, context, request, plan);
        var end = await TokenStreamRunner.RunAsync(context, output, formatter, plan.Tokens, latency, fault, cancellationToken);
        if (end == StreamEnd.ClientGone)
        {
            gate.RecordClientDisconnect(context);
        }
    }
}
