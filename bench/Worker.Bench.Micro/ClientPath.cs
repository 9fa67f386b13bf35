using System.Reflection;
using System.Text;
using Worker.Connector.Http;
using Worker.Connector.OpenAi;
using Worker.Connector.Protocol;

namespace Worker.Bench.Micro;

/// <summary>
/// What <c>RuntimeHttpExtensions.SendHttpAsync</c> and <c>OpenAiChatClient</c> do with an answer frame, without a socket:
/// frame → ExecuteResponseMessage → the http/request envelope read into an <see cref="HttpResponse"/> (the Connector's
/// internal <c>HttpResponsePayloadReader</c>, bound once by reflection so the benchmark measures the product's code) →
/// parsed completion.
/// </summary>
public static class ClientPath
{
    private delegate HttpResponse ReadPayload(ReadOnlySpan<byte> payload, ulong requestId, TimeSpan duration);

    private static readonly ReadPayload? Reader = Bind();

    /// <summary>The envelope's body as the client keeps it (UTF-8 when the Connector has the UTF-8 reader).</summary>
    public static ReadOnlyMemory<byte> ReadBody(ReadOnlySpan<byte> payload) => Reader is { } read
        ? read(payload, 1, TimeSpan.Zero).BodyUtf8
        : Encoding.UTF8.GetBytes(HttpPayloadSerializer.DeserializeResponse(payload).Body ?? "");

    public static int FrameToCompletion(ref System.Buffers.ReadOnlySequence<byte> buffer)
    {
        FrameCodec.TryReadFrame(ref buffer, out var frame);
        ExecuteResponseMessage message;
        using (frame)
        {
            message = IpcSerializer.ReadExecuteResponse(frame.Buffer, frame.Length);
        }

        return ChatCompletionParser.Parse(ReadBody(message.Payload.Span)).Content?.Length ?? 0;
    }

    /// <summary>The runtime's envelope for an upstream answer, written from its UTF-8 bytes as HttpRequestOperation does.</summary>
    public static byte[] Envelope(ReadOnlySpan<byte> utf8Body, IReadOnlyDictionary<string, string> headers) =>
        HttpPayloadSerializer.SerializeResponse(200, headers, utf8Body, isStreaming: true);

    private static ReadPayload? Bind()
    {
        var method = typeof(HttpPayloadSerializer).Assembly.GetType("Worker.Connector.Http.HttpResponsePayloadReader")
            ?.GetMethod("Read", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static);
        return method?.CreateDelegate<ReadPayload>();
    }
}
