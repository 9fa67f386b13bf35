using System.Text;

namespace Worker.Connector.Providers;

/// <summary>
/// Splits a whole event stream (the runtime returns it collected) into events, per the WHATWG rules the providers
/// rely on: lines end in LF, CRLF or CR; a blank line ends an event; <c>event:</c> names it; several <c>data:</c>
/// lines are joined with '\n'; comments (<c>:</c>) and other fields are skipped. Kept apart from the OpenAI
/// <c>Sse</c> parser so the two can change independently; named events are what Anthropic needs.
/// </summary>
public static class ServerSentEventReader
{
    public static IEnumerable<ServerSentEvent> Read(ReadOnlyMemory<byte> body)
    {
        string? name = null;
        var data = new List<ReadOnlyMemory<byte>>();
        var position = 0;
        while (position <= body.Length)
        {
            var (line, next) = NextLine(body, position);
            position = next;
            if (line.IsEmpty)
            {
                if (data.Count > 0)
                {
                    yield return new ServerSentEvent(name, Join(data));
                }

                name = null;
                data.Clear();
                if (position >= body.Length)
                {
                    yield break;
                }

                continue;
            }

            var span = line.Span;
            if (span[0] == (byte)':')
            {
                continue;
            }

            var colon = span.IndexOf((byte)':');
            var field = colon < 0 ? span : span[..colon];
            var value = colon < 0 ? ReadOnlyMemory<byte>.Empty : line[(colon + 1)..];
            if (!value.IsEmpty && value.Span[0] == (byte)' ')
            {
                value = value[1..];
            }

            if (field.SequenceEqual("data"u8))
            {
                data.Add(value);
            }
            else if (field.SequenceEqual("event"u8))
            {
                name = Encoding.UTF8.GetString(value.Span);
            }
        }
    }

    /// <summary>The line starting at <paramref name="start"/> (without its end) and where the next one starts; at the end an empty line.</summary>
    private static (ReadOnlyMemory<byte> Line, int Next) NextLine(ReadOnlyMemory<byte> body, int start)
    {
        if (start >= body.Length)
        {
            return (ReadOnlyMemory<byte>.Empty, body.Length + 1);
        }

        var rest = body.Span[start..];
        var end = rest.IndexOfAny((byte)'\n', (byte)'\r');
        if (end < 0)
        {
            return (body[start..], body.Length);
        }

        var next = start + end + 1;
        if (rest[end] == (byte)'\r' && end + 1 < rest.Length && rest[end + 1] == (byte)'\n')
        {
            next++;
        }

        return (body.Slice(start, end), next);
    }

    private static ReadOnlyMemory<byte> Join(List<ReadOnlyMemory<byte>> lines)
    {
        if (lines.Count == 1)
        {
            return lines[0];
        }

        var joined = new byte[lines.Sum(l => l.Length) + lines.Count - 1];
        var at = 0;
        for (var i = 0; i < lines.Count; i++)
        {
            if (i > 0)
            {
                joined[at++] = (byte)'\n';
            }

            lines[i].Span.CopyTo(joined.AsSpan(at));
            at += lines[i].Length;
        }

        return joined;
    }
}
