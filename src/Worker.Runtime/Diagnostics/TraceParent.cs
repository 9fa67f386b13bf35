using System.Diagnostics;

namespace Worker.Runtime.Diagnostics;

/// <summary>
/// Turns a request's trace_id into the parent of the runtime's server span. Our client sends a W3C traceparent;
/// the original SDKs send a bare 32-hex trace id, which keeps its trace with a made-up parent span id.
/// </summary>
internal static class TraceParent
{
    private const int TraceIdLength = 32;

    public static bool TryParse(string? traceId, out ActivityContext context)
    {
        context = default;
        if (string.IsNullOrEmpty(traceId))
        {
            return false;
        }

        if (traceId.Length == TraceIdLength)
        {
            Span<char> lower = stackalloc char[TraceIdLength];
            traceId.AsSpan().ToLowerInvariant(lower);
            if (!IsHex(lower) || !lower.ContainsAnyExcept('0'))
            {
                return false;
            }

            // Recorded: a caller that sends a trace id wants this request in its trace.
            context = new ActivityContext(ActivityTraceId.CreateFromString(lower), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, isRemote: true);
            return true;
        }

        return ActivityContext.TryParse(traceId, traceState: null, isRemote: true, out context);
    }

    private static bool IsHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigitLower(c))
            {
                return false;
            }
        }

        return true;
    }
}
