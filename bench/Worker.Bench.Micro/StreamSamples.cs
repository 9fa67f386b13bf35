using System.Collections.Concurrent;
using System.Text;
using Worker.Simulator;

namespace Worker.Bench.Micro;

/// <summary>
/// Real chat-completion event streams from the simulator (the bytes a worker receives), sized to about 2 KB and
/// 100 KB. Fetched once per process and cached: benchmarks run in-process.
/// </summary>
public static class StreamSamples
{
    private static readonly ConcurrentDictionary<string, string> Cache = new(StringComparer.Ordinal);

    /// <summary>Sizes by name: "2KB", "100KB" (of event stream).</summary>
    public static int Bytes(string size) => size switch
    {
        "2KB" => 2 * 1024,
        "100KB" => 100 * 1024,
        _ => throw new ArgumentOutOfRangeException(nameof(size), size, "2KB or 100KB"),
    };

    /// <summary>An SSE body of chat.completion.chunk events (with the usage chunk and [DONE]) of about the given size.</summary>
    public static string EventStream(string size) => Cache.GetOrAdd(size, static s => FetchAsync(Bytes(s)).GetAwaiter().GetResult());

    /// <summary>
    /// The event stream of an answer with 100 KiB of content (what the memory figure uses): one chunk per token, so
    /// about 4 MiB of stream.
    /// </summary>
    public static string LargeAnswerStream() => Cache.GetOrAdd("answer100KB", static _ => FetchAnswerAsync(100 * 1024).GetAwaiter().GetResult());

    private static async Task<string> FetchAnswerAsync(int contentBytes)
    {
        // Words average a little over 6 bytes; 17,000 tokens give ~100 KiB of content with the simulator's word list.
        var tokens = (int)Math.Ceiling(contentBytes / 6.0);
        await using var sim = await SimulatorServer.StartAsync();
        using var http = new HttpClient { BaseAddress = sim.BaseAddress };
        var body = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"What is the capital of France?\"}],"
            + $"\"stream\":true,\"stream_options\":{{\"include_usage\":true}},\"sim_tokens\":{tokens}}}";
        using var response = await http.PostAsync(new Uri("v1/chat/completions", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    private static async Task<string> FetchAsync(int targetBytes)
    {
        await using var sim = await SimulatorServer.StartAsync();
        using var http = new HttpClient { BaseAddress = sim.BaseAddress };
        async Task<string> Ask(int tokens)
        {
            var body = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"What is the capital of France?\"}],"
                + $"\"stream\":true,\"stream_options\":{{\"include_usage\":true}},\"sim_tokens\":{tokens}}}";
            using var response = await http.PostAsync(new Uri("v1/chat/completions", UriKind.Relative), new StringContent(body, Encoding.UTF8, "application/json"));
            response.EnsureSuccessStatusCode();
            return await response.Content.ReadAsStringAsync();
        }

        // Bytes per token from a probe, then the token count for the target (a shorter answer is a prefix of a longer one).
        var probe = Encoding.UTF8.GetByteCount(await Ask(200));
        var overhead = Encoding.UTF8.GetByteCount(await Ask(0));
        var perToken = (probe - overhead) / 200.0;
        var tokens = Math.Max(1, (int)Math.Round((targetBytes - overhead) / perToken));
        return await Ask(tokens);
    }
}
