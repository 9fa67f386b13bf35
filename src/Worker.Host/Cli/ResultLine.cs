using System.Text;
using Worker.Host.Contracts;

namespace Worker.Host.Cli;

/// <summary>How <c>results</c> prints one message: a delta as <c>[id #seq] text</c>, anything else as its JSON.</summary>
internal static class ResultLine
{
    public static string Format(string routingKey, ReadOnlySpan<byte> body)
    {
        if (routingKey == JobDelta.RoutingKey && ResultSerializer.TryReadDelta(body, out var delta))
        {
            // A retried attempt starts its text again: say so, so the reader can drop what it had.
            var attempt = delta!.Attempt > 1 ? $" attempt {delta.Attempt}" : "";
            return $"[{delta.Id} #{delta.Seq}{attempt}] {delta.Content}";
        }

        return Encoding.UTF8.GetString(body);
    }
}
