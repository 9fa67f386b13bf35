using System.Globalization;

namespace Worker.Connector.Protocol;

/// <summary>
/// How a client asks for a streamed answer, and the window rules both sides follow. The request carries the header
/// KeyValue <see cref="RequestHeader"/> = the initial window in bytes (decimal). The original runtime ignores
/// headers it does not know, so asking costs nothing there: it answers one ExecuteResponse, as always.
/// </summary>
/// <remarks>
/// The window is the number of chunk bytes the runtime may send that the client has not yet consumed; the runtime
/// sends StreamChunk frames only within it, and the client grants more (StreamWindow) as it consumes. So the
/// client holds at most one window of unread bytes per stream, and the runtime stops reading the upstream when the
/// window is used up: a slow reader slows only its own upstream, never the connection.
/// </remarks>
public static class StreamProtocol
{
    /// <summary>The request header (a KeyValue of ExecuteRequest.headers) that asks for a streamed answer.</summary>
    public const string RequestHeader = "x-worker-stream";

    /// <summary>The window a client asks for when it names none: 256 KiB.</summary>
    public const int DefaultWindow = 256 * 1024;

    /// <summary>The smallest window the runtime grants (a smaller ask is raised to it).</summary>
    public const int MinWindow = 4 * 1024;

    /// <summary>The largest window the runtime grants (a larger ask is lowered to it).</summary>
    public const int MaxWindow = 4 * 1024 * 1024;

    /// <summary>The header value for a window of <paramref name="window"/> bytes.</summary>
    public static KeyValuePair<string, string> Header(int window) =>
        new(RequestHeader, window.ToString(CultureInfo.InvariantCulture));

    /// <summary>
    /// The window <paramref name="request"/> asks for, clamped to [<see cref="MinWindow"/>, <see cref="MaxWindow"/>];
    /// false when it does not ask for a stream (no header, or a value that is not a number).
    /// </summary>
    public static bool TryGetWindow(ExecuteRequestMessage request, out int window)
    {
        ArgumentNullException.ThrowIfNull(request);
        foreach (var (key, value) in request.Headers)
        {
            if (string.Equals(key, RequestHeader, StringComparison.OrdinalIgnoreCase)
                && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var asked))
            {
                window = (int)Math.Clamp(asked, MinWindow, MaxWindow);
                return true;
            }
        }

        window = 0;
        return false;
    }
}
