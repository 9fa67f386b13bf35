using System.Text;
using System.Text.Json;
using Worker.Connector.OpenAi;
using Worker.Connector.Providers;

namespace Worker.Connector.Anthropic;

/// <summary>
/// Turns a Messages answer into our <see cref="ChatCompletion"/>: text blocks concatenated, <c>tool_use</c> blocks as
/// tool calls (their input as JSON text), <c>stop_reason</c> mapped to the OpenAI vocabulary with the original kept,
/// usage input → prompt, output → completion. A stream is read event by event; an <c>error</c> event is returned
/// as the error (the caller classifies it), and a stream that never reached <c>message_stop</c> is a JsonException.
/// </summary>
public static class AnthropicResponseParser
{
    public static ChatCompletion ParseJson(ReadOnlyMemory<byte> body)
    {
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        var builder = new Builder
        {
            Id = Text(root, "id"),
            Model = Text(root, "model"),
            StopReason = Text(root, "stop_reason"),
        };
        if (root.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
        {
            foreach (var block in content.EnumerateArray())
            {
                var index = builder.StartBlock(block);
                if (Text(block, "type") == "tool_use" && block.TryGetProperty("input", out var input))
                {
                    builder.AppendToolInput(index, input.GetRawText());
                }
            }
        }

        if (root.TryGetProperty("usage", out var usage))
        {
            builder.ReadUsage(usage);
        }

        return builder.Build(streamed: false);
    }

    public static (ChatCompletion? Completion, AnthropicError? Error) ParseStream(ReadOnlyMemory<byte> body)
    {
        var builder = new Builder();
        var stopped = false;
        foreach (var item in ServerSentEventReader.Read(body))
        {
            using var document = JsonDocument.Parse(item.Data);
            var data = document.RootElement;
            switch (item.Name ?? Text(data, "type"))
            {
                case "message_start" when data.TryGetProperty("message", out var message):
                    builder.Id = Text(message, "id");
                    builder.Model = Text(message, "model");
                    if (message.TryGetProperty("usage", out var startUsage))
                    {
                        builder.ReadUsage(startUsage);
                    }

                    break;
                case "content_block_start" when data.TryGetProperty("content_block", out var block):
                    builder.StartBlock(block, Index(data));
                    break;
                case "content_block_delta" when data.TryGetProperty("delta", out var delta):
                    switch (Text(delta, "type"))
                    {
                        case "text_delta":
                            builder.Text.Append(Text(delta, "text"));
                            break;
                        case "input_json_delta":
                            builder.AppendToolInput(Index(data), Text(delta, "partial_json") ?? string.Empty);
                            break;
                    }

                    break;
                case "message_delta":
                    if (data.TryGetProperty("delta", out var messageDelta) && Text(messageDelta, "stop_reason") is { } stopReason)
                    {
                        builder.StopReason = stopReason;
                    }

                    // message_delta's usage is cumulative: it replaces what message_start said.
                    if (data.TryGetProperty("usage", out var deltaUsage))
                    {
                        builder.ReadUsage(deltaUsage);
                    }

                    break;
                case "message_stop":
                    stopped = true;
                    break;
                case "error":
                    return (null, AnthropicError.TryRead(item.Data) ?? new AnthropicError(null, "error event without an error object"));
            }
        }

        if (!stopped)
        {
            throw new JsonException("The event stream ended before message_stop.");
        }

        return (builder.Build(streamed: true), null);
    }

    private static int Index(JsonElement data) =>
        data.TryGetProperty("index", out var index) && index.TryGetInt32(out var value) ? value : 0;

    private static string? Text(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>What a message adds up to, block by block.</summary>
    private sealed class Builder
    {
        private readonly SortedDictionary<int, (string? Id, string? Name, StringBuilder Input)> _tools = [];
        private int _blocks;

        public string? Id { get; set; }

        public string? Model { get; set; }

        public string? StopReason { get; set; }

        public StringBuilder Text { get; } = new();

        private int? InputTokens { get; set; }

        private int? OutputTokens { get; set; }

        /// <summary>Registers a block; text carried by the block itself (the JSON answer) is appended. Returns its index.</summary>
        public int StartBlock(JsonElement block, int? index = null)
        {
            var at = index ?? _blocks;
            _blocks = Math.Max(_blocks, at + 1);
            switch (AnthropicResponseParser.Text(block, "type"))
            {
                case "text":
                    Text.Append(AnthropicResponseParser.Text(block, "text"));
                    break;
                case "tool_use":
                    _tools[at] = (AnthropicResponseParser.Text(block, "id"), AnthropicResponseParser.Text(block, "name"), new StringBuilder());
                    break;
            }

            return at;
        }

        public void AppendToolInput(int index, string json)
        {
            if (_tools.TryGetValue(index, out var tool))
            {
                tool.Input.Append(json);
            }
        }

        public void ReadUsage(JsonElement usage)
        {
            if (usage.TryGetProperty("input_tokens", out var input) && input.TryGetInt32(out var inputTokens))
            {
                InputTokens = inputTokens;
            }

            if (usage.TryGetProperty("output_tokens", out var output) && output.TryGetInt32(out var outputTokens))
            {
                OutputTokens = outputTokens;
            }
        }

        public ChatCompletion Build(bool streamed)
        {
            var toolCalls = _tools.Select((tool, i) => new ChatToolCall(
                i,
                tool.Value.Id,
                "function",
                tool.Value.Name,
                tool.Value.Input.Length == 0 ? "{}" : tool.Value.Input.ToString())).ToList();
            var finish = AnthropicFinishReasons.ToOpenAi(StopReason);
            return new ChatCompletion
            {
                Id = Id,
                Model = Model,
                Streamed = streamed,
                Provider = ProviderNames.Anthropic,
                ProviderFinishReason = StopReason,
                Choices =
                [
                    new ChatChoice
                    {
                        Index = 0,
                        Content = Text.Length == 0 && toolCalls.Count > 0 ? null : Text.ToString(),
                        FinishReason = finish,
                        ToolCalls = toolCalls,
                    },
                ],
                Usage = InputTokens is null && OutputTokens is null
                    ? null
                    : new ChatUsage(InputTokens ?? 0, OutputTokens ?? 0, (InputTokens ?? 0) + (OutputTokens ?? 0)),
            };
        }
    }
}
