using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Worker.Simulator.Json;

/// <summary>One place for the options of every response <see cref="Utf8JsonWriter"/>.</summary>
internal static class JsonWriterFactory
{
    // Relaxed escaping keeps non-ASCII model names and prompts readable, as OpenAI does; the output is never HTML.
    private static readonly JsonWriterOptions Options = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    public static Utf8JsonWriter Create(IBufferWriter<byte> output) => new(output, Options);

    public static JsonEncodedText Encode(string value) => JsonEncodedText.Encode(value, Options.Encoder);
}
