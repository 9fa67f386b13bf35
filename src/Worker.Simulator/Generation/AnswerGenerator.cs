using System.Text;

namespace Worker.Simulator.Generation;

/// <summary>
/// The deterministic answer function of the simulator, public so tests anywhere can compute the exact text a
/// request will get. An answer is a pure function of (model, last user message content, choice index, length):
/// word k of a choice depends only on those inputs and k, so a shorter answer is a prefix of a longer one.
/// </summary>
/// <remarks>
/// A token is one word piece (the first token is a word, every later one is a space plus a word, sometimes ending
/// with '.'), and one token is one stream chunk. When a message's content is an array of parts, its text is the
/// text parts joined with '\n' (see <see cref="JoinParts"/>). When no user message exists the prompt is "".
/// </remarks>
public static class AnswerGenerator
{
    /// <summary>Smallest default answer length (tokens) when no length is requested.</summary>
    public const int MinDefaultTokens = AnswerSeed.MinDefaultTokens;

    /// <summary>Largest default answer length (tokens) when no length is requested.</summary>
    public const int MaxDefaultTokens = AnswerSeed.MaxDefaultTokens;

    /// <summary>Model used for hashing by <c>POST /generate</c> when the body has no <c>model</c>.</summary>
    public const string GenerateEndpointDefaultModel = "simulator";

    /// <summary>Answer length (tokens) used when neither X-Sim-Tokens nor sim_tokens asks for one: 12..40.</summary>
    public static int DefaultTokenCount(string model, string lastUserMessage) =>
        AnswerSeed.DefaultTokenCount(BaseSeed(model, lastUserMessage));

    /// <summary>The answer text of one choice.</summary>
    /// <param name="model">The request's model, as sent.</param>
    /// <param name="lastUserMessage">Content of the last message with role user ("" when none).</param>
    /// <param name="choiceIndex">Choice index (0 for the first, up to n-1).</param>
    /// <param name="tokenCount">Length in tokens; null means <see cref="DefaultTokenCount"/>.</param>
    public static string Generate(string model, string lastUserMessage, int choiceIndex = 0, int? tokenCount = null)
    {
        var baseSeed = BaseSeed(model, lastUserMessage);
        var count = tokenCount ?? AnswerSeed.DefaultTokenCount(baseSeed);
        ArgumentOutOfRangeException.ThrowIfNegative(count, nameof(tokenCount));
        ArgumentOutOfRangeException.ThrowIfNegative(choiceIndex);

        var seed = AnswerSeed.ForChoice(baseSeed, choiceIndex);
        var builder = new StringBuilder(count * 8);
        Span<byte> token = stackalloc byte[TokenFormatter.MaxTokenBytes];
        for (var k = 0; k < count; k++)
        {
            var length = TokenFormatter.Format(seed, k, token);
            foreach (var b in token[..length])
            {
                builder.Append((char)b); // tokens are ASCII
            }
        }

        return builder.ToString();
    }

    /// <summary>The tokens (stream chunk contents) of one choice, in order.</summary>
    public static IReadOnlyList<string> GenerateTokens(string model, string lastUserMessage, int choiceIndex = 0, int? tokenCount = null) =>
        Tokenize(Generate(model, lastUserMessage, choiceIndex, tokenCount));

    /// <summary>
    /// What an endpoint answers for one choice, applying the request's limits the way the server does: the answer is
    /// <paramref name="requestedTokens"/> long (default <see cref="DefaultTokenCount"/>) unless
    /// <paramref name="maxTokens"/> is smaller, in which case it is cut and the finish reason is <c>length</c>.
    /// </summary>
    public static SimulatedCompletion Complete(string model, string lastUserMessage, int choiceIndex = 0, int? requestedTokens = null, int? maxTokens = null)
    {
        var requested = requestedTokens ?? DefaultTokenCount(model, lastUserMessage);
        var cut = maxTokens is int max && max < requested;
        var count = cut ? maxTokens!.Value : requested;
        return new SimulatedCompletion(Generate(model, lastUserMessage, choiceIndex, count), count, cut ? "length" : "stop");
    }

    /// <summary>Splits generated text back into its tokens (a new token starts at every space).</summary>
    public static IReadOnlyList<string> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = new List<string>();
        var start = 0;
        for (var i = 1; i <= text.Length; i++)
        {
            if (i == text.Length || text[i] == ' ')
            {
                if (i > start)
                {
                    tokens.Add(text[start..i]);
                }

                start = i;
            }
        }

        return tokens;
    }

    /// <summary>Words in <paramref name="text"/>: runs of non-white-space characters (ASCII white space only).</summary>
    public static int CountWords(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TextRules.CountWords(text);
    }

    /// <summary>
    /// prompt_tokens of a request: the sum of <see cref="CountWords"/> over the text of every message
    /// (Gemini: every part of every content).
    /// </summary>
    public static int CountPromptTokens(IEnumerable<string> messageContents)
    {
        ArgumentNullException.ThrowIfNull(messageContents);
        var total = 0;
        foreach (var content in messageContents)
        {
            total += TextRules.CountWords(content);
        }

        return total;
    }

    /// <summary>How the text parts of one message (content array or Gemini parts) become its text.</summary>
    public static string JoinParts(IEnumerable<string> textParts) => string.Join(TextRules.PartSeparator, textParts);

    internal static ulong BaseSeed(string model, string lastUserMessage)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(lastUserMessage);
        return AnswerSeed.Base(StableHash.Fnv1aUtf8(model), StableHash.Fnv1aUtf8(lastUserMessage));
    }
}
