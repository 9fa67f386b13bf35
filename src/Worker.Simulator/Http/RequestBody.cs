using System.IO.Pipelines;

namespace Worker.Simulator.Http;

/// <summary>Buffers a whole request body in the request pipe, without copying it into an array.</summary>
internal static class RequestBody
{
    /// <summary>
    /// Reads until the body is complete. The caller parses <c>result.Buffer</c> and must then call
    /// <c>reader.AdvanceTo(result.Buffer.End)</c>. Kestrel's MaxRequestBodySize bounds the size.
    /// </summary>
    public static async ValueTask<ReadResult> ReadToEndAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            if (result.IsCompleted || result.IsCanceled)
            {
                return result;
            }

            // Consume nothing, examine everything: the next read waits for more data.
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }
}
