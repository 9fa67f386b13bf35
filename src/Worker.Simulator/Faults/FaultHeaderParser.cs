using System.Globalization;

namespace Worker.Simulator.Faults;

/// <summary>
/// Parses <c>X-Sim-Fault: mode[;param=value...]</c>, e.g. <c>rate_limit;retry_after=2</c> or <c>drop;after=3</c>.
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
                error = $"Invalid {HeaderName} parameter '{key}': supported parameters are retry_after, after and limit.";
                return false;
            }
        }

        plan = new FaultPlan(mode, retryAfter, after, tokensLimit);
        return true;
    }
}
