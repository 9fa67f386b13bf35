using System.Globalization;
using System.Text;

namespace Worker.Simulator.Limits;

/// <summary>
/// Formats a duration as OpenAI's <c>x-ratelimit-reset-*</c> headers and "Please try again in …" do (Go's
/// duration format at millisecond precision): <c>0s</c>, <c>120ms</c>, <c>1s</c>, <c>9.816s</c>, <c>1m30.5s</c>,
/// <c>6m0s</c>, <c>1h0m0s</c>. Rounded up to the millisecond so a client that waits that long is never early.
/// </summary>
internal static class RateLimitDuration
{
    public static string Format(TimeSpan duration)
    {
        var totalMs = (long)Math.Ceiling(duration.TotalMilliseconds - 1e-6);
        if (totalMs <= 0)
        {
            return "0s";
        }

        if (totalMs < 1000)
        {
            return totalMs.ToString(CultureInfo.InvariantCulture) + "ms";
        }

        var hours = totalMs / 3_600_000;
        var minutes = totalMs / 60_000 % 60;
        var seconds = totalMs / 1000 % 60;
        var millis = totalMs % 1000;

        var text = new StringBuilder(16);
        if (hours > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{hours}h");
        }

        if (hours > 0 || minutes > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"{minutes}m");
        }

        text.Append(seconds.ToString(CultureInfo.InvariantCulture));
        if (millis > 0)
        {
            text.Append('.').Append(millis.ToString("000", CultureInfo.InvariantCulture).TrimEnd('0'));
        }

        return text.Append('s').ToString();
    }
}
