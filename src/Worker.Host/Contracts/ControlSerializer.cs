using System.Text;
using System.Text.Json;

namespace Worker.Host.Contracts;

/// <summary>Writes and reads control messages (<see cref="CancelRequest"/>) with <see cref="ContractJsonContext"/>: the CLI, the worker and the tests go through it.</summary>
public static class ControlSerializer
{
    /// <summary>A control body larger than this is not read at all.</summary>
    public const int MaxBytes = 4096;

    public static byte[] Serialize(CancelRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return JsonSerializer.SerializeToUtf8Bytes(request, ContractJsonContext.Relaxed.CancelRequest);
    }

    /// <summary>
    /// Reads a cancel request; false with a short reason when the body is not one (too large, not JSON, or an id that
    /// is not 1 to <see cref="JobContract.MaxIdBytes"/> bytes of printable text).
    /// </summary>
    public static bool TryReadCancel(ReadOnlySpan<byte> utf8, out CancelRequest? request, out string? reason)
    {
        request = null;
        reason = null;
        if (utf8.Length > MaxBytes)
        {
            reason = $"too_large: {utf8.Length} bytes (at most {MaxBytes})";
            return false;
        }

        CancelRequest? read;
        try
        {
            var reader = new Utf8JsonReader(utf8);
            read = JsonSerializer.Deserialize(ref reader, ContractJsonContext.Relaxed.CancelRequest);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // A missing required id is a JsonException too; the message names what was wrong, escaped for the log.
            reason = SafeText.Escape("invalid_json: " + ex.Message);
            return false;
        }

        if (read?.Id is not { Length: > 0 } id || Encoding.UTF8.GetByteCount(id) > JobContract.MaxIdBytes || !SafeText.IsPrintable(id))
        {
            reason = $"invalid_id: 'id' must be 1 to {JobContract.MaxIdBytes} bytes of printable text";
            return false;
        }

        request = read;
        return true;
    }
}
