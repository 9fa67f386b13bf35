using System.Diagnostics;
using System.Text;

namespace Worker.Chaos.Tests.Support;

/// <summary>Everything a span carries, as text: names, status, tags, events and their tags, links, baggage.</summary>
internal static class SpanText
{
    public static string Of(Activity span)
    {
        var text = new StringBuilder();
        text.Append(span.Source.Name).Append(' ').Append(span.OperationName).Append(' ').Append(span.DisplayName)
            .Append(" status=").Append(span.Status).Append(' ').Append(span.StatusDescription);
        foreach (var (key, value) in span.TagObjects)
        {
            text.Append(" | ").Append(key).Append('=').Append(Render(value));
        }

        foreach (var e in span.Events)
        {
            text.Append(" | event ").Append(e.Name);
            foreach (var (key, value) in e.Tags)
            {
                text.Append(' ').Append(key).Append('=').Append(Render(value));
            }
        }

        foreach (var link in span.Links)
        {
            text.Append(" | link ").Append(link.Context.TraceId);
        }

        foreach (var (key, value) in span.Baggage)
        {
            text.Append(" | baggage ").Append(key).Append('=').Append(value);
        }

        return text.ToString();
    }

    private static string? Render(object? value) => value is System.Collections.IEnumerable list and not string
        ? string.Join(",", list.Cast<object?>())
        : value?.ToString();
}
