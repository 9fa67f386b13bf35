using System.Buffers;
using System.Text;
using System.Text.Json;
using Worker.Simulator.Generation;

namespace Worker.Simulator.Tests.Tools;

/// <summary>Request schemas are untrusted: self-references must end instead of overflowing the stack.</summary>
public sealed class SchemaValueGeneratorTests
{
    [Theory]
    [InlineData("""{"anyOf":[{"$ref":"#"}]}""")]
    [InlineData("""{"type":"object","properties":{"child":{"$ref":"#"}},"required":["child"]}""")]
    public void Self_referencing_schemas_end(string schema)
    {
        using var document = JsonDocument.Parse(schema);
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            SchemaValueGenerator.Write(json, document.RootElement, 42);
        }

        using var result = JsonDocument.Parse(buffer.WrittenMemory, new JsonDocumentOptions { MaxDepth = 256 });
        Assert.NotEqual(0, Encoding.UTF8.GetString(buffer.WrittenSpan).Length);
    }
}
