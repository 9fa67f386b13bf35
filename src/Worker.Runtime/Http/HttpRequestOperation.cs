using System.Buffers;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Worker.Connector;
using Worker.Connector.Http;
using Worker.Connector.Protocol;
using Worker.Runtime.Diagnostics;
using Worker.Runtime.Server;

namespace Worker.Runtime.Http;

/// <summary>
/// The <c>http</c>/<c>request</c> operation. Any upstream status is a Success carrying that status (classifying it is
/// the client's job, as with the original runtime); transport failures are Transient "HTTP request failed: ...";
/// payload problems are InvalidRequest; a body over the cap is Permanent. Cancellation is left to the caller.
/// </summary>
internal sealed class HttpRequestOperation : IStreamingOperation
{
    // The JSON envelope must still fit one frame with the FlatBuffers table around it.
    private const int FrameSlack = 4096;

    private readonly HttpClient _client;
    private readonly HostAllowlist _allowlist;
    private readonly long _maxResponseBytes;
    private readonly ILogger _logger;

    public HttpRequestOperation(HttpClient client, HostAllowlist allowlist, long maxResponseBytes, ILogger logger)
    {
        _client = client;
        _allowlist = allowlist;
        _maxResponseBytes = maxResponseBytes;
        _logger = logger;
    }

    public string Connector => HttpPayloadSerializer.ConnectorName;

    public string Operation => HttpPayloadSerializer.OperationName;

    public async Task<ExecutionResult> ExecuteAsync(ExecuteRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!UpstreamRequestBuilder.TryBuild(request.Payload, _allowlist, out var call, out var invalid))
        {
            return ExecutionResult.Failure(ErrorClass.InvalidRequest, invalid);
        }

        using var message = call!.Request;
        try
        {
            // Runs inside the server span, so the handler's diagnostics propagate its trace (traceparent) upstream.
            using var response = await _client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            using var body = await ResponseBodyReader.ReadAsync(response.Content, _maxResponseBytes, cancellationToken);
            var bodyBytes = body.Length;
            // Written from the UTF-8 bytes: a multi-megabyte stream never becomes a UTF-16 string here.
            var payload = HttpPayloadSerializer.SerializeResponse(
                (int)response.StatusCode,
                ResponseHeaderCollector.Collect(response),
                body.Utf8(),
                string.Equals(response.Content.Headers.ContentType?.MediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase));
            if (payload.Length > FrameCodec.MaxPayloadLength - FrameSlack)
            {
                // JSON escaping can grow a body that was under the cap past what one frame holds.
                return Fail(call, ErrorClass.Permanent, $"Upstream response too large: {payload.Length} bytes as JSON, more than one frame holds (lower Runtime:MaxResponseBytes).");
            }

            RuntimeLog.HttpAnswered(_logger, call.Method, call.SafeUrl, (int)response.StatusCode, bodyBytes);
            return ExecutionResult.Success(payload);
        }
        catch (ResponseTooLargeException ex)
        {
            return Fail(call, ErrorClass.Permanent, ex.Message);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
        {
            return Fail(call, ErrorClass.Transient, HttpFailureDescriber.Describe(ex));
        }
    }

    /// <summary>
    /// The streamed answer: the head as soon as the upstream's headers arrive, then the body as the upstream delivers
    /// it, raw (no charset conversion or escaping), read only while the stream has window. Runtime:MaxResponseBytes
    /// caps the body as for a whole answer (same Permanent failure, after the chunks already sent): nothing here holds
    /// more than one chunk, but an upstream that never stops must not keep a credit until the deadline.
    /// </summary>
    public async Task<ExecutionResult> StreamAsync(ExecuteRequestMessage request, IResponseStream stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(stream);
        if (!UpstreamRequestBuilder.TryBuild(request.Payload, _allowlist, out var call, out var invalid))
        {
            return ExecutionResult.Failure(ErrorClass.InvalidRequest, invalid);
        }

        using var message = call!.Request;
        var buffer = ArrayPool<byte>.Shared.Rent(stream.MaxChunk);
        try
        {
            // Disposing the response before its body ended (cancel, deadline) aborts the upstream connection.
            using var response = await _client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.Content.Headers.ContentLength is { } declared && declared > _maxResponseBytes)
            {
                throw ResponseBodyReader.TooLarge(_maxResponseBytes, string.Create(CultureInfo.InvariantCulture, $"Content-Length {declared}"));
            }

            await stream.WriteHeadAsync((int)response.StatusCode, [.. ResponseHeaderCollector.Collect(response)], cancellationToken);
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            long total = 0;
            while (true)
            {
                // Window first: with none left the upstream is not read, so TCP pushes back on it.
                var allowed = await stream.WaitForWindowAsync(cancellationToken);
                // One byte past the cap is enough to know the body is over it.
                var room = (int)Math.Min(Math.Min(allowed, stream.MaxChunk), _maxResponseBytes - total + 1);
                var read = await body.ReadAsync(buffer.AsMemory(0, room), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                total += read;
                if (total > _maxResponseBytes)
                {
                    throw ResponseBodyReader.TooLarge(_maxResponseBytes, "the body");
                }

                await stream.WriteChunkAsync(buffer.AsMemory(0, read), cancellationToken);
            }

            RuntimeLog.HttpStreamed(_logger, call.Method, call.SafeUrl, (int)response.StatusCode, total);
            return ExecutionResult.Success(ReadOnlyMemory<byte>.Empty);
        }
        catch (ResponseTooLargeException ex)
        {
            return Fail(call, ErrorClass.Permanent, ex.Message);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException && !cancellationToken.IsCancellationRequested)
        {
            return Fail(call, ErrorClass.Transient, HttpFailureDescriber.Describe(ex));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private ExecutionResult Fail(UpstreamCall call, ErrorClass errorClass, string message)
    {
        RuntimeLog.HttpFailed(_logger, call.Method, call.SafeUrl, errorClass, message);
        return ExecutionResult.Failure(errorClass, message);
    }
}
