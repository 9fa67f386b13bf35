using System.Globalization;

namespace Worker.Simulator.Latency;

/// <summary>
/// Parses <c>X-Sim-Latency: ttft=200ms,token=20ms</c>. Keys: <c>ttft</c> and <c>token</c>; values are numbers with
/// an optional unit <c>ms</c> (default) or <c>s</c> (decimals allowed: <c>0.5s</c>). Entries are separated by ',' or
/// ';'. A key that is left out keeps the configured value.
/// </summary>
internal static class LatencyHeaderParser
{
    public const string HeaderName = "X-Sim-Latency";

    private static readonly TimeSpan Max = TimeSpan.FromHours(1);

    public static bool TryParse(ReadOnlySpan<char> header, LatencyProfile defaults, out LatencyProfile profile, out string? error)
    {
        profile = defaults;
        error = null;
        foreach (var range in header.SplitAny(",;"))
        {
            var entry = header[range].Trim();
            if (entry.IsEmpty)
            {
                continue;
            }

            var eq = entry.IndexOf('=');
            if (eq <= 0)
            {
                error = $"Invalid {HeaderName} entry '{entry}': expected key=value, e.g. 'ttft=200ms,token=20ms'.";
                return false;
            }

            var key = entry[..eq].Trim();
            if (!TryParseDuration(entry[(eq + 1)..].Trim(), out var value))
            {
                error = $"Invalid {HeaderName} value in '{entry}': expected a non-negative duration such as '200ms' or '0.2s' (at most 1 hour).";
                return false;
            }

            if (key.Equals("ttft", StringComparison.OrdinalIgnoreCase))
            {
                profile = profile with { TimeToFirstToken = value };
            }
            else if (key.Equals("token", StringComparison.OrdinalIgnoreCase))
            {
                profile = profile with { TimePerToken = value };
            }
            else
            {
                error = $"Invalid {HeaderName} key '{key}': supported keys are 'ttft' and 'token'.";
                return false;
            }
        }

        return true;
    }

    internal static bool TryParseDuration(ReadOnlySpan<char> text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        double scaleMs = 1;
        if (text.EndsWith("ms", StringComparison.OrdinalIgnoreCase))
        {
            text = text[..^2];
        }
        else if (text.EndsWith("s", StringComparison.OrdinalIgnoreCase))
        {
            text = text[..^1];
            scaleMs = 1000;
        }

        if (!double.TryParse(text.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }

        var ms = number * scaleMs;
        if (double.IsNaN(ms) || ms < 0 || ms > Max.TotalMilliseconds)
        {
            return false;
        }

        value = TimeSpan.FromMilliseconds(ms);
        return true;
    }
}
