using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using Worker.Simulator.Http;

namespace Worker.Simulator.Streaming;

/// <summary>
/// Where a streamed answer goes. Normally straight into the response pipe, chunked by Kestrel. For a planned drop
/// the simulator does the HTTP/1.1 chunk framing itself and sends <c>Connection: close</c>, so the chunks sent before
/// the drop are complete, well-framed chunks; then the connection is aborted (never a terminating chunk, never a
/// clean end of the response), so every HTTP/1.1 client sees an error after the chunks. HttpContext.Abort discards
/// bytes Kestrel has not written to the socket yet, hence the short wait after the last flush.
/// </summary>
internal sealed class StreamOutput
{
    private readonly PipeWriter _pipe;
    private readonly ArrayBufferWriter<byte>? _selfChunked;

    private StreamOutput(PipeWriter pipe, bool selfChunked)
    {
        _pipe = pipe;
        _selfChunked = selfChunked ? new ArrayBufferWriter<byte>(4096) : null;
    }

    /// <summary>What formatters write into.</summary>
    public IBufferWriter<byte> Writer => _selfChunked ?? (IBufferWriter<byte>)_pipe;

    /// <summary>Sets the response headers and returns the output to write the stream into.</summary>
    /// <param name="context">The request.</param>
    /// <param name="framing">SSE or JSON array.</param>
    /// <param name="endsWithDrop">Whether the stream will be cut off (frame chunks ourselves, close the connection).</param>
    public static StreamOutput Start(HttpContext context, StreamFraming framing, bool endsWithDrop)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = framing == StreamFraming.ServerSentEvents ? ContentTypes.EventStream : ContentTypes.Json;
        response.Headers.CacheControl = "no-cache";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        // Self-framing needs HTTP/1.1 chunked encoding; other protocols fall back to an abort on drop.
        var selfChunked = endsWithDrop && HttpProtocol.IsHttp11(context.Request.Protocol);
        if (selfChunked)
        {
            response.Headers[HeaderNames.TransferEncoding] = "chunked";
            response.Headers.Connection = "close";
        }

        return new StreamOutput(response.BodyWriter, selfChunked);
    }

    public ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken)
    {
        if (_selfChunked is { WrittenCount: > 0 } pending)
        {
            WriteChunk(pending.WrittenSpan);
            pending.ResetWrittenCount();
        }

        return _pipe.FlushAsync(cancellationToken);
    }

    /// <summary>Time for flushed chunks to reach the socket before the abort throws away what is still queued.</summary>
    private static readonly TimeSpan DrainBeforeAbort = TimeSpan.FromMilliseconds(50);

    /// <summary>Ends the stream mid-body: the connection is aborted without the terminating chunk.</summary>
    public async Task DropAsync(HttpContext context, CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken);
        if (_selfChunked is not null)
        {
            // Not the request's token: a client leaving during the wait changes nothing, the connection goes anyway.
            await Task.Delay(DrainBeforeAbort, CancellationToken.None);
        }

        context.Abort();
    }

    private void WriteChunk(ReadOnlySpan<byte> data)
    {
        Span<byte> size = stackalloc byte[16];
        data.Length.TryFormat(size, out var digits, "x", CultureInfo.InvariantCulture);
        _pipe.Write(size[..digits]);
        _pipe.Write("\r\n"u8);
        _pipe.Write(data);
        _pipe.Write("\r\n"u8);
    }
}
