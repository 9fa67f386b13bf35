using System.Text;
using System.Text.Json;
using Worker.Connector.OpenAi;
using Worker.Connector.Providers;

namespace Worker.Connector.Gemini;

/// <summary>
/// Turns GenerateContentResponses into our <see cref="ChatCompletion"/>: the first candidate's text parts
/// concatenated (across stream elements), <c>functionCall</c> parts as tool calls, the last <c>finishReason</c>
/// mapped with the original kept, the last <c>usageMetadata</c>. A blocked prompt (<c>promptFeedback.blockReason</c>)
/// and an error element come back as the outcome for the caller to raise.
/// </summary>
public static class GeminiResponseParser
{
    public static GeminiParseResult ParseJson(ReadOnlyMemory<byte> body)
    {
        using var document = JsonDocument.Parse(body);
        var builder = new Builder();
        var root = document.RootElement;

        // streamGenerateContent without alt=sse answers one JSON array of responses.
        if (root.ValueKind == JsonValueKind.Array)
        {
            foreach (var element in root.EnumerateArray())
            {
                if (builder.Add(element) is { } failure)
                {
                    return failure;
                }
            }

            return builder.Build(streamed: true);
        }

        return builder.Add(root) ?? builder.Build(streamed: false);
    }

    public static GeminiParseResult ParseStream(ReadOnlyMemory<byte> body)
    {
        var builder = new Builder();
        foreach (var item in ServerSentEventReader.Read(body))
        {
            using var document = JsonDocument.Parse(item.Data);
            if (builder.Add(document.RootElement) is { } failure)
            {
                return failure;
            }
        }

        return builder.Build(streamed: true);
    }

    private static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private sealed class Builder
    {
        private readonly StringBuilder _text = new();
        private readonly List<ChatToolCall> _tools = [];
        private string? _finishReason;
        private string? _model;
        private string? _id;
        private ChatUsage? _usage;
        private string? _blockReason;
        private bool _sawCandidate;

        /// <summary>Adds one response; an error element ends the parse with it.</summary>
        public GeminiParseResult? Add(JsonElement response)
        {
            if (GeminiError.TryRead(response) is { } error)
            {
                return new GeminiParseResult(null, error, null);
            }

            _model = Text(response, "modelVersion") ?? _model;
            _id = Text(response, "responseId") ?? _id;
            if (response.TryGetProperty("promptFeedback", out var feedback) && Text(feedback, "blockReason") is { } blockReason)
            {
                _blockReason = blockReason;
            }

            if (response.TryGetProperty("usageMetadata", out var usage))
            {
                var prompt = Number(usage, "promptTokenCount");
                var candidates = Number(usage, "candidatesTokenCount");
                _usage = new ChatUsage(prompt, candidates, usage.TryGetProperty("totalTokenCount", out _) ? Number(usage, "totalTokenCount") : prompt + candidates);
            }

            if (response.TryGetProperty("candidates", out var list) && list.ValueKind == JsonValueKind.Array && list.GetArrayLength() > 0)
            {
                _sawCandidate = true;
                var candidate = list[0];
                _finishReason = Text(candidate, "finishReason") ?? _finishReason;
                if (candidate.TryGetProperty("content", out var content) && content.TryGetProperty("parts", out var parts) && parts.ValueKind == JsonValueKind.Array)
                {
                    foreach (var part in parts.EnumerateArray())
                    {
                        if (Text(part, "text") is { } text && !(part.TryGetProperty("thought", out var thought) && thought.ValueKind == JsonValueKind.True))
                        {
                            _text.Append(text);
                        }
                        else if (part.TryGetProperty("functionCall", out var call))
                        {
                            var arguments = call.TryGetProperty("args", out var args) ? args.GetRawText() : "{}";
                            _tools.Add(new ChatToolCall(_tools.Count, Text(call, "id"), "function", Text(call, "name"), arguments));
                        }
                    }
                }
            }

            return null;
        }

        public GeminiParseResult Build(bool streamed)
        {
            if (_blockReason is not null && !_sawCandidate)
            {
                return new GeminiParseResult(null, null, _blockReason);
            }

            // Gemini ends a tool-calling turn with STOP; callers expect OpenAI's tool_calls then.
            var finish = _tools.Count > 0 && _finishReason == "STOP" ? "tool_calls" : GeminiFinishReasons.ToOpenAi(_finishReason);
            var completion = new ChatCompletion
            {
                Id = _id,
                Model = _model,
                Streamed = streamed,
                Provider = ProviderNames.Gemini,
                ProviderFinishReason = _finishReason,
                Usage = _usage,
                Choices =
                [
                    new ChatChoice
                    {
                        Index = 0,
                        Content = _text.Length == 0 && _tools.Count > 0 ? null : _text.ToString(),
                        FinishReason = finish,
                        ToolCalls = _tools,
                    },
                ],
            };
            return new GeminiParseResult(completion, null, null);
        }

        private static int Number(JsonElement element, string name) =>
            element.TryGetProperty(name, out var value) && value.TryGetInt32(out var number) ? number : 0;
    }
}
