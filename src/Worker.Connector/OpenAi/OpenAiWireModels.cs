using System.Text.Json.Serialization;

namespace Worker.Connector.OpenAi;

// OpenAI chat-completions wire shapes (read side). Only what the accumulator needs; unknown fields are ignored.

internal sealed class ChunkDto
{
    [JsonPropertyName("id")] public string? Id { get; set; }
    [JsonPropertyName("object")] public string? Object { get; set; }
    [JsonPropertyName("created")] public long? Created { get; set; }
    [JsonPropertyName("model")] public string? Model { get; set; }
    [JsonPropertyName("system_fingerprint")] public string? SystemFingerprint { get; set; }
    [JsonPropertyName("choices")] public List<ChoiceDto>? Choices { get; set; }
    [JsonPropertyName("usage")] public UsageDto? Usage { get; set; }
    [JsonPropertyName("error")] public ErrorDto? Error { get; set; }
}

internal sealed class ChoiceDto
{
    [JsonPropertyName("index")] public int Index { get; set; }
    [JsonPropertyName("delta")] public MessageDto? Delta { get; set; }
    [JsonPropertyName("message")] public MessageDto? Message { get; set; }
    [JsonPropertyName("finish_reason")] public string? FinishReason { get; set; }
}

internal sealed class MessageDto
{
    [JsonPropertyName("role")] public string? Role { get; set; }
    [JsonPropertyName("content")] public string? Content { get; set; }
    [JsonPropertyName("refusal")] public string? Refusal { get; set; }
    [JsonPropertyName("tool_calls")] public List<ToolCallDto>? ToolCalls { get; set; }
}

internal sealed class ToolCallDto
{
    [JsonPropertyName("index")] public int? Index { get; set; }
    [JsonPropertyName("id")] public string? Id { get; set; }
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("function")] public FunctionDto? Function { get; set; }
}

internal sealed class FunctionDto
{
    [JsonPropertyName("name")] public string? Name { get; set; }
    [JsonPropertyName("arguments")] public string? Arguments { get; set; }
}

internal sealed class UsageDto
{
    [JsonPropertyName("prompt_tokens")] public int PromptTokens { get; set; }
    [JsonPropertyName("completion_tokens")] public int CompletionTokens { get; set; }
    [JsonPropertyName("total_tokens")] public int TotalTokens { get; set; }
}

internal sealed class ErrorDto
{
    [JsonPropertyName("message")] public string? Message { get; set; }
    [JsonPropertyName("type")] public string? Type { get; set; }
    [JsonPropertyName("code")] public string? Code { get; set; }
    [JsonPropertyName("param")] public string? Param { get; set; }
}

// The reference reader for ChunkReader's tests (ChunkReaderTests): the same shapes, read by the serializer.
[JsonSourceGenerationOptions(NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(ChunkDto))]
internal sealed partial class OpenAiJsonContext : JsonSerializerContext;
