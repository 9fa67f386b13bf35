using System.Buffers;
using System.Text.Json;
using Worker.Simulator.Json;

namespace Worker.Simulator.Streaming;

/// <summary>
/// Writes the events of one streamed answer straight into the response output through a single reused
/// <see cref="Utf8JsonWriter"/>; the answer is never materialised. Subclasses give the API's event shapes;
/// <see cref="TokenStreamRunner"/> decides when each is written and flushed.
/// </summary>
internal abstract class TokenStreamFormatter : IDisposable
{
    private readonly IBufferWriter<byte> _output;
    private readonly StreamFraming _framing;
    private bool _firstEvent = true;

    protected TokenStreamFormatter(IBufferWriter<byte> output, StreamFraming framing)
    {
        _output = output;
        _framing = framing;
        Json = JsonWriterFactory.Create(output);
    }

    /// <summary>Bytes written since the last flush.</summary>
    public long UnflushedBytes { get; private set; }

    protected Utf8JsonWriter Json { get; }

    /// <summary>Whatever precedes the first content token (e.g. OpenAI's role chunk).</summary>
    public abstract void WriteStart();

    /// <summary>Content token <paramref name="step"/> of every choice.</summary>
    public abstract void WriteStep(int step);

    /// <summary>Finish reasons, usage and the end marker.</summary>
    public abstract void WriteFinish();

    /// <summary>An in-stream error event (the stream ends after it, without an end marker).</summary>
    public abstract void WriteErrorEvent();

    /// <summary>An event whose data is not valid JSON.</summary>
    public virtual void WriteMalformedEvent()
    {
        BeginRaw();
        WriteRaw("{\"id\":\"sim-malformed\",\"choices\":[{\"delta\":{\"content\":\"trunc"u8);
        EndRaw();
    }

    public void MarkFlushed() => UnflushedBytes = 0;

    public void Dispose() => Json.Dispose();

    /// <summary>Starts an event whose data is one JSON value written with <see cref="Json"/>.</summary>
    protected Utf8JsonWriter BeginEvent()
    {
        BeginRaw();
        Json.Reset();
        return Json;
    }

    /// <summary>
    /// Starts a named SSE event (<c>event: name</c> before the <c>data:</c> line), as Anthropic streams them;
    /// outside SSE framing the name is left out.
    /// </summary>
    protected Utf8JsonWriter BeginEvent(ReadOnlySpan<byte> eventName)
    {
        WriteEventName(eventName);
        return BeginEvent();
    }

    /// <summary>The <c>event:</c> line of the next event (SSE only); the caller writes its data next.</summary>
    protected void WriteEventName(ReadOnlySpan<byte> eventName)
    {
        if (_framing == StreamFraming.ServerSentEvents)
        {
            WriteRaw("event: "u8);
            WriteRaw(eventName);
            WriteRaw("\n"u8);
        }
    }

    /// <summary>Starts an event whose data the caller writes raw (<see cref="WriteRaw"/>), ended by <see cref="EndRawEvent"/>.</summary>
    protected void BeginRawEvent() => BeginRaw();

    protected void EndRawEvent() => EndRaw();

    protected void EndEvent()
    {
        Json.Flush();
        UnflushedBytes += Json.BytesCommitted;
        EndRaw();
    }

    /// <summary>OpenAI's end marker, <c>data: [DONE]</c>.</summary>
    protected void WriteDoneEvent()
    {
        BeginRaw();
        WriteRaw("[DONE]"u8);
        EndRaw();
    }

    /// <summary>Closes the JSON array of <see cref="StreamFraming.JsonArray"/>.</summary>
    protected void CloseArray()
    {
        if (_framing == StreamFraming.JsonArray)
        {
            WriteRaw(_firstEvent ? "[]"u8 : "]"u8);
        }
    }

    protected void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        _output.Write(bytes);
        UnflushedBytes += bytes.Length;
    }

    private void BeginRaw()
    {
        if (_framing == StreamFraming.ServerSentEvents)
        {
            WriteRaw("data: "u8);
        }
        else
        {
            WriteRaw(_firstEvent ? "["u8 : ",\r\n"u8);
        }

        _firstEvent = false;
    }

    private void EndRaw()
    {
        if (_framing == StreamFraming.ServerSentEvents)
        {
            WriteRaw("\n\n"u8);
        }
    }
}
