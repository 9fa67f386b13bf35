using Microsoft.ML.Tokenizers;
using Worker.Connector.OpenAi;

namespace Worker.Host.Intake;

/// <summary>
/// Estimates, before the call, what a request will count against a tokens-per-minute limit: its prompt tokens (the
/// model's own tiktoken encoding, from the bundled data packages; nothing is downloaded) plus the output it may
/// produce (<c>max_tokens</c>, else <c>Llm:Limits:DefaultOutputTokens</c>), as the hosted APIs charge it.
/// </summary>
public sealed class TokenEstimator
{
    // OpenAI's accounting for chat formatting: a few tokens per message and for the reply's priming.
    private const int TokensPerMessage = 3;
    private const int ReplyPriming = 3;

    // Past this many characters the prompt is estimated at 4 characters per token: tokenizing megabytes of text before
    // every call costs more than a slightly wrong estimate, which the endpoint's headers correct anyway.
    private const int MaxTokenizedChars = 256 * 1024;

    private readonly Lazy<Tokenizer> _o200k = new(() => TiktokenTokenizer.CreateForEncoding("o200k_base"));
    private readonly Lazy<Tokenizer> _cl100k = new(() => TiktokenTokenizer.CreateForEncoding("cl100k_base"));
    private readonly int _defaultOutput;

    public TokenEstimator(int defaultOutputTokens) => _defaultOutput = defaultOutputTokens;

    /// <summary>Prompt tokens as the model's encoding counts them (models we do not know: o200k, the newest).</summary>
    public int CountPrompt(ChatCompletionRequest request, string model)
    {
        ArgumentNullException.ThrowIfNull(request);
        var tokenizer = UsesCl100k(model) ? _cl100k.Value : _o200k.Value;
        long total = ReplyPriming;
        var budget = MaxTokenizedChars;
        foreach (var message in request.Messages)
        {
            total += TokensPerMessage;
            var content = message.Content ?? "";
            if (content.Length <= budget)
            {
                total += tokenizer.CountTokens(content);
                budget -= content.Length;
            }
            else
            {
                total += (content.Length + 3) / 4;
            }
        }

        return (int)Math.Min(total, int.MaxValue);
    }

    /// <summary>Output tokens the request may produce.</summary>
    public int MaxOutput(ChatCompletionRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.MaxTokens is > 0 and var max)
        {
            return max;
        }

        return request.ExtraParameters is { } extra && extra.TryGetValue("max_completion_tokens", out var value)
            && value.ValueKind == System.Text.Json.JsonValueKind.Number && value.TryGetInt32(out var completion) && completion > 0
            ? completion
            : _defaultOutput;
    }

    private static bool UsesCl100k(string model) =>
        model.StartsWith("gpt-4-", StringComparison.OrdinalIgnoreCase) || model.Equals("gpt-4", StringComparison.OrdinalIgnoreCase)
        || model.StartsWith("gpt-3.5", StringComparison.OrdinalIgnoreCase) || model.StartsWith("text-embedding-", StringComparison.OrdinalIgnoreCase);
}
