namespace Worker.Runtime.Diagnostics;

/// <summary>Keeps client-supplied text short in messages and logs: a hostile client could send megabytes of it.</summary>
internal static class LogText
{
    public const int DefaultLimit = 160;

    public static string Clip(string? text, int limit = DefaultLimit) =>
        text is null ? string.Empty : text.Length <= limit ? text : string.Concat(text.AsSpan(0, limit), "…");
}
