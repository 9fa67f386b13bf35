using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Worker.Connector.Http;
using Worker.Connector.OpenAi;
using Worker.Connector.Protocol;

namespace Worker.Bench.Micro;

/// <summary>
/// The runtime protocol's answer path: the runtime encodes an ExecuteResponse carrying the upstream event stream in
/// its JSON envelope, the client decodes it. "Stream" is the size of the event stream inside the response.
/// </summary>
[MemoryDiagnoser]
public class FrameBenchmarks
{
    private static readonly Dictionary<string, string> Headers = new() { ["content-type"] = "text/event-stream", ["cache-control"] = "no-cache" };
    private readonly FrameWriter _writer = new(System.IO.Stream.Null);
    private byte[] _utf8Body = [];
    private ExecuteResponseMessage _response = null!;
    private ReadOnlySequence<byte> _responseFrame;

    [Params("2KB", "100KB")]
    public string Stream { get; set; } = "2KB";

    [GlobalSetup]
    public void Setup()
    {
        _utf8Body = Encoding.UTF8.GetBytes(StreamSamples.EventStream(Stream));
        _response = new ExecuteResponseMessage { RequestId = 42, DurationUs = 1234, Payload = ClientPath.Envelope(_utf8Body, Headers) };
        _responseFrame = new ReadOnlySequence<byte>(Encode(MessageType.ExecuteResponse, _response, IpcSerializer.Write));
    }

    internal static byte[] Encode<T>(MessageType type, T message, Action<Google.FlatBuffers.FlatBufferBuilder, T> write)
    {
        var builder = new Google.FlatBuffers.FlatBufferBuilder(1024);
        write(builder, message);
        return FrameCodec.Encode(type, IpcSerializer.Finished(builder));
    }

    [GlobalCleanup]
    public void Cleanup() => _writer.Dispose();

    /// <summary>Runtime side: ExecuteResponse carrying the stream → frame on the socket.</summary>
    [Benchmark(Description = "Encode response frame")]
    public ValueTask EncodeResponse() => _writer.WriteAsync(MessageType.ExecuteResponse, _response, IpcSerializer.Write, CancellationToken.None);

    /// <summary>Runtime side: upstream status, headers and UTF-8 body → the http/request JSON envelope (HttpRequestOperation).</summary>
    [Benchmark(Description = "Encode http/request envelope")]
    public int EncodeEnvelope() => ClientPath.Envelope(_utf8Body, Headers).Length;

    /// <summary>Client side: frame → ExecuteResponseMessage (payload copied out of the pooled frame buffer).</summary>
    [Benchmark(Description = "Decode response frame")]
    public int DecodeResponse()
    {
        var buffer = _responseFrame;
        FrameCodec.TryReadFrame(ref buffer, out var frame);
        using (frame)
        {
            return IpcSerializer.ReadExecuteResponse(frame.Buffer, frame.Length).Payload.Length;
        }
    }

    /// <summary>Client side, after the frame: the runtime's JSON envelope → status, headers and body (SendHttpAsync).</summary>
    [Benchmark(Description = "Decode http/request envelope")]
    public int DecodeEnvelope() => ClientPath.ReadBody(_response.Payload.Span).Length;

    /// <summary>The whole client-side answer path: frame → message → envelope → parsed completion.</summary>
    [Benchmark(Description = "Frame → completion (client total)")]
    public int ClientTotal()
    {
        var buffer = _responseFrame;
        return ClientPath.FrameToCompletion(ref buffer);
    }
}

/// <summary>The request path: the client encodes an ExecuteRequest (an http/request payload for a chat completion), the runtime decodes it.</summary>
[MemoryDiagnoser]
public class RequestFrameBenchmarks
{
    private readonly FrameWriter _writer = new(System.IO.Stream.Null);
    private ExecuteRequestMessage _request = null!;
    private ReadOnlySequence<byte> _requestFrame;

    [GlobalSetup]
    public void Setup()
    {
        var chat = OpenAiChatClient.BuildBody(new ChatCompletionRequest { Messages = [ChatMessage.User("What is the capital of France?")] }, "gpt-4o-mini");
        _request = new ExecuteRequestMessage
        {
            RequestId = 42,
            TenantId = "default",
            TraceId = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            ConnectorName = HttpPayloadSerializer.ConnectorName,
            Operation = HttpPayloadSerializer.OperationName,
            DeadlineAtMs = 1_900_000_000_000,
            Payload = HttpPayloadSerializer.SerializeRequest(
                "POST",
                "http://127.0.0.1:4545/v1/chat/completions",
                new Dictionary<string, string> { ["Content-Type"] = "application/json", ["Accept"] = "text/event-stream" },
                chat),
        };
        _requestFrame = new ReadOnlySequence<byte>(FrameBenchmarks.Encode(MessageType.ExecuteRequest, _request, IpcSerializer.Write));
    }

    [GlobalCleanup]
    public void Cleanup() => _writer.Dispose();

    /// <summary>Client side: ExecuteRequest → frame on the socket (FrameWriter to a null stream).</summary>
    [Benchmark(Description = "Encode request frame")]
    public ValueTask EncodeRequest() => _writer.WriteAsync(MessageType.ExecuteRequest, _request, IpcSerializer.Write, CancellationToken.None);

    /// <summary>Runtime side: frame → ExecuteRequestMessage.</summary>
    [Benchmark(Description = "Decode request frame")]
    public ulong DecodeRequest()
    {
        var buffer = _requestFrame;
        FrameCodec.TryReadFrame(ref buffer, out var frame);
        using (frame)
        {
            return IpcSerializer.ReadExecuteRequest(frame.Buffer, frame.Length).RequestId;
        }
    }
}

/// <summary>
/// The answer path for one job whose answer has 100 KiB of content, streamed (≈ 4 MiB of events, the memory figure's
/// jobs): what the runtime and the client do with it, step by step, allocations per op included.
/// </summary>
[MemoryDiagnoser]
public class LargeAnswerBenchmarks
{
    private static readonly Dictionary<string, string> Headers = new() { ["content-type"] = "text/event-stream" };
    private readonly FrameWriter _writer = new(System.IO.Stream.Null);
    private byte[] _stream = [];
    private ExecuteResponseMessage _response = null!;
    private ReadOnlySequence<byte> _responseFrame;

    [GlobalSetup]
    public void Setup()
    {
        _stream = Encoding.UTF8.GetBytes(StreamSamples.LargeAnswerStream());
        _response = new ExecuteResponseMessage { RequestId = 7, DurationUs = 1, Payload = ClientPath.Envelope(_stream, Headers) };
        _responseFrame = new ReadOnlySequence<byte>(FrameBenchmarks.Encode(MessageType.ExecuteResponse, _response, IpcSerializer.Write));
    }

    [GlobalCleanup]
    public void Cleanup() => _writer.Dispose();

    [Benchmark(Description = "Runtime: encode envelope (4 MiB stream)")]
    public int EncodeEnvelope() => ClientPath.Envelope(_stream, Headers).Length;

    /// <summary>
    /// Proposed fix for <c>HttpPayloadSerializer.SerializeResponse</c>: the same JSON, but the buffer is sized for the
    /// escaped body (every <c>"</c>, <c>\</c>, CR, LF and tab counted) instead of the raw body + 256 bytes, so the
    /// ArrayBufferWriter does not double (and copy) once escaping outgrows it, and the written memory is the payload
    /// (no final <c>ToArray()</c>).
    /// </summary>
    [Benchmark(Description = "Runtime: encode envelope, sized for escaping (proposed)")]
    public int EncodeEnvelopeSized()
    {
        // Vectorized counts; the rarer control bytes (escaped as \u00XX) only make the writer grow if present.
        var body = _stream.AsSpan();
        var extra = body.Count((byte)'"') + body.Count((byte)'\\') + body.Count((byte)'\n') + body.Count((byte)'\r') + body.Count((byte)'\t');
        var buffer = new ArrayBufferWriter<byte>(body.Length + extra + 256);
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer, new System.Text.Json.JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteNumber("status_code", 200);
            json.WriteStartObject("headers");
            foreach (var (name, value) in Headers)
            {
                json.WriteString(name, value);
            }

            json.WriteEndObject();
            json.WriteString("body", body);
            json.WriteBoolean("is_streaming", true);
            json.WriteEndObject();
        }

        // ExecutionResult.Payload is a ReadOnlyMemory<byte>: the written memory can be handed over without ToArray().
        return buffer.WrittenMemory.Length;
    }

    /// <summary>A response over 1 MiB makes FrameWriter drop its grown builder, so every such answer regrows it from 1 KiB.</summary>
    [Benchmark(Description = "Runtime: encode response frame (4 MiB stream)")]
    public ValueTask EncodeFrame() => _writer.WriteAsync(MessageType.ExecuteResponse, _response, IpcSerializer.Write, CancellationToken.None);

    /// <summary>
    /// Proposed fix: build into a pooled buffer sized for the payload (FlatBufferBuilder over a rented ByteBuffer),
    /// instead of growing a fresh 1 KiB builder by doubling (≈ 2 × the final size allocated, every copy included).
    /// </summary>
    [Benchmark(Description = "Runtime: encode response frame, pooled builder (proposed)")]
    public async ValueTask EncodeFramePooled()
    {
        var size = _response.Payload.Length + 1024;
        var array = ArrayPool<byte>.Shared.Rent(size);
        byte[]? frame = null;
        try
        {
            var builder = new Google.FlatBuffers.FlatBufferBuilder(new Google.FlatBuffers.ByteBuffer(array));
            IpcSerializer.Write(builder, _response);
            var payload = IpcSerializer.Finished(builder);
            frame = ArrayPool<byte>.Shared.Rent(FrameCodec.HeaderSize + payload.Count);
            FrameCodec.WriteHeader(frame, MessageType.ExecuteResponse, payload.Count);
            payload.AsSpan().CopyTo(frame.AsSpan(FrameCodec.HeaderSize));
            await System.IO.Stream.Null.WriteAsync(frame.AsMemory(0, FrameCodec.HeaderSize + payload.Count));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(array);
            if (frame is not null)
            {
                ArrayPool<byte>.Shared.Return(frame);
            }
        }
    }

    [Benchmark(Description = "Client: frame → completion (4 MiB stream)")]
    public int ClientTotal()
    {
        var buffer = _responseFrame;
        return ClientPath.FrameToCompletion(ref buffer);
    }
}
