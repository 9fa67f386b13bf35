using System.Buffers;
using System.Globalization;
using Worker.Simulator.Faults;
using Worker.Simulator.Http;
using Worker.Simulator.Limits;
using Worker.Simulator.Logging;
using Worker.Simulator.Stats;

namespace Worker.Simulator.Endpoints;

/// <summary>
/// The steps every generation endpoint shares: API key, X-Sim-* headers, rate limits, generation slots, the fault
/// decision and the faults that are answered instead of an answer. Also the only place outcomes are counted.
/// </summary>
internal sealed class GenerationGate(
    SimulatorStats stats,
    ApiKeyCheck apiKeys,
    SimDirectiveReader directiveReader,
    FaultInjector faults,
    RateLimiter rateLimiter,
    GenerationSlots slots,
    IHostApplicationLifetime lifetime,
    TimeProvider time,
    ILogger<GenerationGate> logger)
{
    private static ReadOnlySpan<byte> MalformedBody => "{\"id\":\"sim-malformed\",\"choices\":[{\"message\":{\"content\":\"trunc"u8;

    public SimulatorStats Stats => stats;

    /// <summary>Checks the API key and reads the X-Sim-* headers; on failure the error answer is already written.</summary>
    public bool TryAdmit(HttpContext context, ErrorDialect dialect, out SimDirectives directives)
    {
        directives = default;
        if (apiKeys.Check(context.Request, dialect) is { } authError)
        {
            Answer(context, authError, dialect, SimulatorOutcome.Unauthorized);
            return false;
        }

        if (!directiveReader.TryRead(context.Request, out directives, out var headerError))
        {
            Reject(context, headerError!, dialect);
            return false;
        }

        return true;
    }

    /// <summary>
    /// Charges the request to its key's buckets (when <c>Simulator:RateLimits</c> is on) and sets the
    /// <c>x-ratelimit-*</c> headers (Anthropic: <c>anthropic-ratelimit-*</c>); a request over a limit is answered 429 and false is returned.
    /// </summary>
    public bool TryAdmitRate(HttpContext context, ErrorDialect dialect, RequestCharge charge)
    {
        if (!rateLimiter.Enabled)
        {
            return true;
        }

        var decision = rateLimiter.Admit(RateLimitKey.From(context.Request), charge);
        if (dialect == ErrorDialect.Anthropic)
        {
            AnthropicRateLimitHeaders.Write(context.Response.Headers, decision, time.GetUtcNow());
        }
        else
        {
            RateLimitHeaders.Write(context.Response.Headers, decision);
        }

        if (decision.Refusal is not { } refusal)
        {
            stats.RecordTokensCharged(decision.TokensCharged);
            return true;
        }

        stats.RecordRateLimited(refusal.Type);
        Answer(context, ErrorCatalog.RateLimitReached(dialect, charge.Model, refusal), dialect, SimulatorOutcome.RateLimit);
        return false;
    }

    /// <summary>
    /// Takes a generation slot (capacity mode), waiting in line when the overflow is Queue; when it is Reject and all
    /// are busy, answers 503 and returns false. A true must be matched by <see cref="LeaveGeneration"/>.
    /// </summary>
    public async ValueTask<bool> TryEnterGenerationAsync(HttpContext context, ErrorDialect dialect, CancellationToken cancellationToken)
    {
        if (await slots.TryEnterAsync(cancellationToken))
        {
            return true;
        }

        stats.RecordCapacityRejected();
        Answer(context, ErrorCatalog.Overloaded(dialect, slots.MaxConcurrent), dialect, SimulatorOutcome.Unavailable);
        return false;
    }

    public void LeaveGeneration() => slots.Leave();

    /// <summary>Answers an invalid request (400 or 404) and counts it as bad_request.</summary>
    public void Reject(HttpContext context, ApiError error, ErrorDialect dialect) =>
        Answer(context, error, dialect, SimulatorOutcome.BadRequest);

    /// <summary>The X-Sim-Fault header's fault, else a random draw; counts the outcome.</summary>
    public FaultPlan ChooseFault(in SimDirectives directives, HttpContext context)
    {
        var plan = directives.Fault ?? faults.Draw();
        stats.Record(ToOutcome(plan.Mode));
        if (plan.Mode != FaultMode.None)
        {
            SimulatorLog.FaultInjected(logger, FaultModeNames.ToName(plan.Mode), context.Request.Path.Value);
        }

        return plan;
    }

    /// <summary>Answers the faults that replace the whole answer. True when the request is done.</summary>
    public async ValueTask<bool> TryAnswerFaultAsync(HttpContext context, FaultPlan fault, ErrorDialect dialect, bool streaming, CancellationToken cancellationToken)
    {
        if (fault.ShouldRetry is { } shouldRetry)
        {
            context.Response.Headers["x-should-retry"] = shouldRetry ? "true" : "false";
        }

        if (fault.RetryAfterMs is { } retryAfterMs)
        {
            context.Response.Headers["retry-after-ms"] = retryAfterMs.ToString(CultureInfo.InvariantCulture);
        }

        switch (fault.Mode)
        {
            case FaultMode.RateLimit:
                context.Response.Headers.RetryAfter = fault.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
                ErrorResponses.Write(context, ErrorCatalog.RateLimit(dialect, fault.RetryAfterSeconds, fault.TokensLimit), dialect);
                return true;
            case FaultMode.ServerError:
                ErrorResponses.Write(context, ErrorCatalog.ServerError(dialect), dialect);
                return true;
            case FaultMode.Unavailable:
                ErrorResponses.Write(context, ErrorCatalog.Unavailable(dialect), dialect);
                return true;
            case FaultMode.Hang:
                await HangAsync(context, cancellationToken);
                return true;
            case FaultMode.Drop when !streaming:
                context.Abort();
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// The in-stream faults on a non-streaming request, sent after the usual delay: malformed is a 200 whose body is
    /// cut-off JSON; error_event is a 200 whose body is an error object. True when the answer was written.
    /// </summary>
    public static bool TryAnswerNonStreamingFault(HttpContext context, FaultPlan fault, ErrorDialect dialect)
    {
        switch (fault.Mode)
        {
            case FaultMode.Malformed:
                context.Response.ContentType = ContentTypes.Json;
                context.Response.BodyWriter.Write(MalformedBody);
                context.Response.ContentLength = MalformedBody.Length;
                return true;
            case FaultMode.ErrorEvent:
                ErrorResponses.Write(context, dialect == ErrorDialect.Anthropic ? ErrorCatalog.AnthropicOverloaded : ErrorCatalog.ServerError(dialect), dialect, StatusCodes.Status200OK);
                return true;
            default:
                return false;
        }
    }

    public void RecordClientDisconnect(HttpContext context)
    {
        stats.RecordClientDisconnect();
        SimulatorLog.ClientDisconnected(logger, context.Request.Path.Value);
    }

    private void Answer(HttpContext context, ApiError error, ErrorDialect dialect, SimulatorOutcome outcome)
    {
        stats.Record(outcome);
        SimulatorLog.RequestRejected(logger, context.Request.Path.Value, error.StatusCode, error.Message);
        ErrorResponses.Write(context, error, dialect);
    }

    /// <summary>Never answers: waits for the client to give up. On shutdown the connection is cut so stopping is not held up.</summary>
    private async Task HangAsync(HttpContext context, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        try
        {
            await Task.Delay(Timeout.Infinite, linked.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            SimulatorLog.HangAbortedOnShutdown(logger, context.Request.Path.Value);
            context.Abort();
        }
    }

    private static SimulatorOutcome ToOutcome(FaultMode mode) => mode switch
    {
        FaultMode.RateLimit => SimulatorOutcome.RateLimit,
        FaultMode.ServerError => SimulatorOutcome.ServerError,
        FaultMode.Unavailable => SimulatorOutcome.Unavailable,
        FaultMode.Hang => SimulatorOutcome.Hang,
        FaultMode.Drop => SimulatorOutcome.Drop,
        FaultMode.Malformed => SimulatorOutcome.Malformed,
        FaultMode.ErrorEvent => SimulatorOutcome.ErrorEvent,
        _ => SimulatorOutcome.Ok,
    };
}
