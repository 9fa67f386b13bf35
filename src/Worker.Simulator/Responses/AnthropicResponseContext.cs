using System.Text.Json;
using Worker.Simulator.Generation;
using Worker.Simulator.Json;

namespace Worker.Simulator.Responses;

/// <summary>Per-request values of an Anthropic Messages answer.</summary>
internal sealed class AnthropicResponseContext(string id, string model, AnthropicStopReason stopReason, AnswerPlan plan)
{
    public string Id { get; } = id;

    public JsonEncodedText Model { get; } = JsonWriterFactory.Encode(model);

    public AnswerPlan Plan { get; } = plan;

    public ReadOnlySpan<byte> StopReason => stopReason.Name;

    /// <summary>The fields every message object starts with: id, type, role, model.</summary>
    public void WriteMessageHead(Utf8JsonWriter json)
    {
        json.WriteString("id"u8, Id);
        json.WriteString("type"u8, "message"u8);
        json.WriteString("role"u8, "assistant"u8);
        json.WriteString("model"u8, Model);
    }
}
