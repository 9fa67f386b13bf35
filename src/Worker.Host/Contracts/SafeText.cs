using System.Globalization;
using System.Text;

namespace Worker.Host.Contracts;

/// <summary>
/// Text from a job (ids, reasons quoting its fields) on its way into a log line, a span or a header: control
/// characters become visible escapes (<c>\n</c>, <c>\u0001</c>), so a job cannot forge log lines, and long text is clipped.
/// </summary>
public static class SafeText
{
    public const int DefaultMaxLength = 1000;

    public static string Escape(string? text, int maxLength = DefaultMaxLength)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text ?? "";
        }

        var clipped = text.Length > maxLength ? text[..maxLength] : text;
        if (IsPrintable(clipped))
        {
            return ReferenceEquals(clipped, text) ? text : clipped + "…";
        }

        var builder = new StringBuilder(clipped.Length + 16);
        foreach (var c in clipped)
        {
            _ = c switch
            {
                '\n' => builder.Append("\\n"),
                '\r' => builder.Append("\\r"),
                '\t' => builder.Append("\\t"),
                _ when char.IsControl(c) || c is '\u2028' or '\u2029' => builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)),
                _ => builder.Append(c),
            };
        }

        return clipped.Length < text.Length ? builder.Append('…').ToString() : builder.ToString();
    }

    /// <summary>True when the text has no control characters (C0, DEL, C1, line/paragraph separators).</summary>
    public static bool IsPrintable(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (char.IsControl(c) || c is '\u2028' or '\u2029')
            {
                return false;
            }
        }

        return true;
    }
}
