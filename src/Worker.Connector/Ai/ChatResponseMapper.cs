using System.Text.Json;
using Microsoft.Extensions.AI;
using Completion = Worker.Connector.OpenAi.ChatCompletion;

namespace Worker.Connector.Ai;

/// <summary>Turns the connector's parsed <see cref="Completion"/> (first choice) into Microsoft.Extensions.AI shapes.</summary>
internal static class ChatResponseMapper
{
    public static ChatResponse ToResponse(Completion completion)
    {
        var message = new ChatMessage(ChatRole.Assistant, Contents(completion))
        {
            MessageId = completion.Id,
            RawRepresentation = completion,
        };
        return new ChatResponse(message)
        {
            ResponseId = completion.Id,
            ModelId = completion.Model,
            CreatedAt = CreatedAt(completion),
            FinishReason = FinishReason(completion.FinishReason),
            Usage = Usage(completion),
            RawRepresentation = completion,
        };
    }

    /// <summary>
    /// The answer as streaming updates: the text (unless it was already streamed as deltas), then the tool calls, then
    /// the finish reason with the usage.
    /// </summary>
    public static IEnumerable<ChatResponseUpdate> ToUpdates(Completion completion, bool textStreamed = false)
    {
        var contents = Contents(completion);
        var text = textStreamed ? [] : contents.OfType<TextContent>().ToList();
        var calls = contents.Where(c => c is FunctionCallContent).ToList();
        if (text.Count > 0)
        {
            yield return Update(completion, [.. text]);
        }

        if (calls.Count > 0)
        {
            yield return Update(completion, calls);
        }

        var last = Update(completion, Usage(completion) is { } usage ? [new UsageContent(usage)] : []);
        last.FinishReason = FinishReason(completion.FinishReason);
        yield return last;
    }

    public static ChatFinishReason? FinishReason(string? reason) => reason switch
    {
        null => null,
        "stop" => ChatFinishReason.Stop,
        "length" => ChatFinishReason.Length,
        "tool_calls" or "function_call" => ChatFinishReason.ToolCalls,
        "content_filter" => ChatFinishReason.ContentFilter,
        _ => new ChatFinishReason(reason),
    };

    private static ChatResponseUpdate Update(Completion completion, IList<AIContent> contents) => new(ChatRole.Assistant, contents)
    {
        ResponseId = completion.Id,
        MessageId = completion.Id,
        ModelId = completion.Model,
        CreatedAt = CreatedAt(completion),
        RawRepresentation = completion,
    };

    private static List<AIContent> Contents(Completion completion)
    {
        var contents = new List<AIContent>();
        if (completion.Choices.Count == 0)
        {
            return contents;
        }

        var choice = completion.Choices[0];
        if (!string.IsNullOrEmpty(choice.Content))
        {
            contents.Add(new TextContent(choice.Content));
        }

        foreach (var call in choice.ToolCalls)
        {
            if (call.FunctionName is null)
            {
                continue;
            }

            contents.Add(FunctionCallContent.CreateFromParsedArguments(call.Arguments, call.Id ?? string.Empty, call.FunctionName, ParseArguments));
        }

        return contents;
    }

    private static IDictionary<string, object?>? ParseArguments(string json) =>
        string.IsNullOrWhiteSpace(json)
            ? new Dictionary<string, object?>()
            : (IDictionary<string, object?>?)JsonSerializer.Deserialize(json, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(IDictionary<string, object?>)));

    private static UsageDetails? Usage(Completion completion) => completion.Usage is { } usage
        ? new UsageDetails { InputTokenCount = usage.PromptTokens, OutputTokenCount = usage.CompletionTokens, TotalTokenCount = usage.TotalTokens }
        : null;

    private static DateTimeOffset? CreatedAt(Completion completion) =>
        completion.Created is { } seconds ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;
}
