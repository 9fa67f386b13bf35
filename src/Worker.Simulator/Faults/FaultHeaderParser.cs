using System.Globalization;

namespace Worker.Simulator.Faults;

/// <summary>
/// Parses <c>X-Sim-Fault: mode[;param=value...]</c>, e.g. <c>rate_limit;retry_after=2</c>, <c>drop;after=3</c> or
/// <c>server_error;should_retry=false</c>.
/// <c>none</c> forces a normal answer even when a random fault rate is configured.
/// </summary>
internal static class FaultHeaderParser
{
    public const string HeaderName = "X-Sim-Fault";

    public static bool TryParse(ReadOnlySpan<char> header, int defaultRetryAfterSeconds, out FaultPlan plan, out string? error)
    {
        plan = default;
        error = null;
        var first = true;
        var mode = FaultMode.None;
        var retryAfter = defaultRetryAfterSeconds;
        int? after = null;
        var tokensLimit = false;
        bool? shouldRetry = null;
        int? retryAfterMs = null;

        foreach (var range in header.Split(';'))
        {
            var entry = header[range].Trim();
            if (first)
            {
                first = false;
                if (!FaultModeNames.TryParse(entry, out mode))
                {
                    error = $"Invalid {HeaderName} mode '{entry}'. Supported modes: none, {FaultModeNames.FaultNames}.";
                    return false;
                }

                continue;
            }

            if (entry.IsEmpty)
            {
                continue;
            }

            var eq = entry.IndexOf('=');
            var key = eq > 0 ? entry[..eq].Trim() : entry;
            var valueText = eq > 0 ? entry[(eq + 1)..].Trim() : [];
            if (key.Equals("limit", StringComparison.OrdinalIgnoreCase))
            {
                // rate_limit;limit=tokens answers type "tokens" instead of "requests".
                tokensLimit = valueText.Equals("tokens", StringComparison.OrdinalIgnoreCase);
                if (!tokensLimit && !valueText.Equals("requests", StringComparison.OrdinalIgnoreCase))
                {
                    error = $"Invalid {HeaderName} parameter '{entry}': limit must be requests or tokens.";
                    return false;
                }

                continue;
            }

            if (key.Equals("should_retry", StringComparison.OrdinalIgnoreCase))
            {
                // Sends x-should-retry, the server's own retry verdict that the official SDKs honour.
                if (!bool.TryParse(valueText, out var verdict))
                {
                    error = $"Invalid {HeaderName} parameter '{entry}': should_retry must be true or false.";
                    return false;
                }

                shouldRetry = verdict;
                continue;
            }

            if (key.Equals("retry_after_ms", StringComparison.OrdinalIgnoreCase))
            {
                if (!int.TryParse(valueText, NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds))
                {
                    error = $"Invalid {HeaderName} parameter '{entry}': expected retry_after_ms=<milliseconds>.";
                    return false;
                }

                retryAfterMs = milliseconds;
                continue;
            }

            if (valueText.EndsWith("s", StringComparison.OrdinalIgnoreCase))
            {
                valueText = valueText[..^1]; // retry_after=2s reads naturally; accept it.
            }

            if (eq <= 0 || !int.TryParse(valueText, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                error = $"Invalid {HeaderName} parameter '{entry}': expected retry_after=<seconds> or after=<tokens>.";
                return false;
            }

            if (key.Equals("retry_after", StringComparison.OrdinalIgnoreCase))
            {
                retryAfter = value;
            }
            else if (key.Equals("after", StringComparison.OrdinalIgnoreCase))
            {
                after = value;
            }
            else
            {
                error = $"Invalid {HeaderName} parameter '{key}': supported parameters are retry_after, retry_after_ms, after, limit and should_retry.";
                return false;
            }
        }

        plan = new FaultPlan(mode, retryAfter, after, tokensLimit, shouldRetry, retryAfterMs);
        return true;
    }
}
