using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Worker.Simulator.Json;

namespace Worker.Simulator.Generation;

/// <summary>
/// An answer that is not free text: a function call (per choice: call id, function name, JSON arguments from the
/// function's parameter schema) or JSON content (response_format json_object / json_schema). Built as whole strings,
/// then streamed in <see cref="PieceChars"/>-character pieces; every choice has the same number of pieces so the
/// shared <see cref="AnswerPlan"/> paces them (a piece is one "token" for usage and max_tokens).
/// </summary>
internal sealed class StructuredAnswer
{
    /// <summary>Characters per streamed piece (about one real token is 4; 8 keeps streams short but multi-chunk).</summary>
    public const int PieceChars = 8;

    private readonly string[] _texts;

    private StructuredAnswer(string? functionName, string[] callIds, string[] texts)
    {
        FunctionName = functionName;
        CallIds = callIds;
        _texts = texts;
        var max = 1;
        foreach (var text in texts)
        {
            max = Math.Max(max, (text.Length + PieceChars - 1) / PieceChars);
        }

        Pieces = max;
    }

    /// <summary>The function every choice calls, or null for JSON content.</summary>
    public string? FunctionName { get; }

    public bool IsToolCall => FunctionName is not null;

    /// <summary>Tool call ids per choice (empty for JSON content).</summary>
    public IReadOnlyList<string> CallIds { get; }

    /// <summary>Pieces per choice.</summary>
    public int Pieces { get; }

    /// <summary>
    /// The structured answer the request asks for, or null for a plain text answer: a tool call when the tool choice
    /// (or the auto rule) calls one, else JSON content when response_format asks for JSON.
    /// </summary>
    public static StructuredAnswer? Create(ChatCompletionRequest request, ulong baseSeed, int? requestedTokens)
    {
        if (ToolCallDecision.Choose(request) is { } tool)
        {
            var ids = new string[request.N];
            var texts = new string[request.N];
            for (var choice = 0; choice < request.N; choice++)
            {
                var seed = StableHash.Mix(AnswerSeed.ForChoice(baseSeed, choice) ^ StableHash.Fnv1aUtf8(tool.Name));
                ids[choice] = "call_" + seed.ToString("x16", CultureInfo.InvariantCulture) + StableHash.Mix(seed).ToString("x8", CultureInfo.InvariantCulture)[..8];
                texts[choice] = Render(tool.Parameters, seed);
            }

            return new StructuredAnswer(tool.Name, ids, texts);
        }

        if (request.ResponseFormat == ResponseFormatMode.Text)
        {
            return null;
        }

        var contents = new string[request.N];
        for (var choice = 0; choice < request.N; choice++)
        {
            var seed = AnswerSeed.ForChoice(baseSeed, choice);
            contents[choice] = request.ResponseFormat == ResponseFormatMode.JsonSchema
                ? Render(request.ResponseSchema, seed)
                : JsonObjectAnswer(requestedTokens, baseSeed, choice);
        }

        return new StructuredAnswer(null, [], contents);
    }

    /// <summary>The first <paramref name="pieces"/> pieces of a choice, concatenated.</summary>
    public string Text(int choice, int pieces)
    {
        var text = _texts[choice];
        return text[..Boundary(text, pieces)];
    }

    /// <summary>Piece <paramref name="step"/> of a choice (possibly empty when the choice is shorter than the longest).</summary>
    public string Piece(int choice, int step)
    {
        var text = _texts[choice];
        return text[Boundary(text, step)..Boundary(text, step + 1)];
    }

    /// <summary>Where piece <paramref name="step"/> starts: texts are cut evenly, never inside a surrogate pair.</summary>
    private int Boundary(string text, int step)
    {
        var index = (int)Math.Min(text.Length, (long)text.Length * step / Pieces);
        if (index > 0 && index < text.Length && char.IsLowSurrogate(text[index]))
        {
            index++;
        }

        return index;
    }

    private static string Render(JsonElement? schema, ulong seed)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = JsonWriterFactory.Create(buffer))
        {
            SchemaValueGenerator.Write(json, schema, seed);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>json_object without a schema: <c>{"answer": "&lt;the plain text answer&gt;"}</c>.</summary>
    private static string JsonObjectAnswer(int? requestedTokens, ulong baseSeed, int choice)
    {
        var count = requestedTokens ?? AnswerSeed.DefaultTokenCount(baseSeed);
        var text = new StringBuilder();
        Span<byte> token = stackalloc byte[TokenFormatter.MaxTokenBytes];
        var seed = AnswerSeed.ForChoice(baseSeed, choice);
        for (var k = 0; k < count; k++)
        {
            var length = TokenFormatter.Format(seed, k, token);
            text.Append(Encoding.ASCII.GetString(token[..length]));
        }

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = JsonWriterFactory.Create(buffer))
        {
            json.WriteStartObject();
            json.WriteString("answer"u8, text.ToString());
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}

/// <summary>
/// Which function a request calls, deterministically: a named tool_choice calls that function; <c>required</c> calls
/// the first function the last user message names, else the first function; <c>auto</c> calls the first function
/// the last user message names (its name, or the name with '_' and '-' read as spaces, case-insensitive) unless the
/// last message is a tool result, and otherwise answers in text; <c>none</c> never calls one.
/// </summary>
internal static class ToolCallDecision
{
    public static ToolFunction? Choose(ChatCompletionRequest request)
    {
        if (request.Tools.Count == 0)
        {
            return null;
        }

        switch (request.ToolChoice)
        {
            case ToolChoiceMode.Named:
                foreach (var tool in request.Tools)
                {
                    if (tool.Name == request.ToolChoiceName)
                    {
                        return tool;
                    }
                }

                return null;
            case ToolChoiceMode.Required:
                return Mentioned(request) ?? request.Tools[0];
            case ToolChoiceMode.Auto:
                return request.LastMessageIsToolResult ? null : Mentioned(request);
            default:
                return null;
        }
    }

    private static ToolFunction? Mentioned(ChatCompletionRequest request)
    {
        if (string.IsNullOrEmpty(request.LastUserText))
        {
            return null;
        }

        foreach (var tool in request.Tools)
        {
            if (request.LastUserText.Contains(tool.Name, StringComparison.OrdinalIgnoreCase)
                || request.LastUserText.Contains(tool.Name.Replace('_', ' ').Replace('-', ' '), StringComparison.OrdinalIgnoreCase))
            {
                return tool;
            }
        }

        return null;
    }
}
