using System.Text;

namespace Worker.Simulator.Generation;

/// <summary>The fixed vocabulary of simulated answers (lower-case ASCII). Changing it changes every answer.</summary>
internal static class WordList
{
    private static readonly string[] Words =
    [
        "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on", "not",
        "he", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "had", "they", "you", "were",
        "their", "one", "all", "we", "can", "her", "has", "there", "been", "if", "more", "when", "will", "would",
        "who", "so", "no", "time", "system", "model", "answer", "request", "simple", "value", "result", "data",
        "stream", "token", "worker", "queue", "message", "river", "mountain", "light", "signal", "network", "quiet",
        "bright", "garden", "window", "morning", "evening", "number", "question", "reason", "example", "pattern",
        "process", "channel", "service", "client", "server", "engine", "record", "memory", "buffer", "shape",
        "field", "detail", "summary", "context", "history", "future", "little", "large", "small", "early", "late",
        "often", "always", "never", "maybe", "still", "again", "between", "through", "during", "without", "within",
        "along", "across", "around", "under", "over", "after", "before", "because", "while", "where", "every",
        "other", "another", "such", "many", "most", "some", "each", "both", "few", "same", "different", "useful",
        "careful", "steady", "rapid", "gentle", "clear", "certain", "likely", "simply", "really", "quite", "rather",
        "build", "check", "measure", "follow", "observe", "explain", "describe", "compare", "choose", "change",
        "keep", "give", "take", "make", "find", "know", "think", "see", "come", "look", "use", "work", "call",
        "try", "ask", "need", "feel", "become", "leave", "put", "mean", "bring", "begin", "hold", "turn", "start",
        "show", "hear", "play", "run", "move", "live", "believe", "happen", "write", "provide", "sit", "stand",
        "lose", "pay", "meet", "include", "continue", "learn", "lead", "understand", "watch", "speak", "read",
        "allow", "add", "spend", "grow", "open", "walk", "offer", "remember", "consider", "appear", "wait",
        "serve", "send", "expect", "stay", "fall", "reach", "remain", "suggest", "raise", "pass", "report",
        "decide", "pull", "plan", "table", "paper", "stone", "cloud", "ocean", "forest", "city", "road", "bridge",
        "tower", "market", "letter", "story", "idea", "method", "theory", "energy", "balance", "season", "winter",
    ];

    /// <summary>UTF-8 bytes of every word, computed once; read-only after type initialisation.</summary>
    private static readonly byte[][] Utf8 = Encode(Words);

    public static int Count => Words.Length;

    public static ReadOnlySpan<byte> Get(int index) => Utf8[index];

    /// <summary>The word as a string (structured answers build strings; plain answers never do).</summary>
    public static string GetString(int index) => Words[index];

    private static byte[][] Encode(string[] words)
    {
        var result = new byte[words.Length][];
        for (var i = 0; i < words.Length; i++)
        {
            // TokenFormatter renders a token into a fixed stack buffer: space + word + '.'.
            if (words[i].Length + 2 > TokenFormatter.MaxTokenBytes)
            {
                throw new InvalidOperationException($"Word '{words[i]}' is too long for a token.");
            }

            result[i] = Encoding.ASCII.GetBytes(words[i]);
        }

        return result;
    }
}
