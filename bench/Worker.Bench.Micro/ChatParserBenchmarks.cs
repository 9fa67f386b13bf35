using System.Text;
using BenchmarkDotNet.Attributes;
using Worker.Connector.OpenAi;

namespace Worker.Bench.Micro;

/// <summary>
/// Accumulating a streamed chat completion: <c>ChatCompletionParser.Parse</c> on the UTF-8 body (what OpenAiChatClient
/// does with the runtime's answer) and on a string, and <see cref="ChatCompletionParser.ParseStream"/>.
/// </summary>
[MemoryDiagnoser]
public class ChatParserBenchmarks
{
    private string _body = "";
    private ReadOnlyMemory<byte> _utf8;

    [Params("2KB", "100KB")]
    public string Stream { get; set; } = "2KB";

    [GlobalSetup]
    public void Setup()
    {
        _body = StreamSamples.EventStream(Stream);
        _utf8 = Encoding.UTF8.GetBytes(_body);
        var check = ChatCompletionParser.Parse(_body);
        if (string.IsNullOrEmpty(check.Content))
        {
            throw new InvalidOperationException("the sample stream has no content");
        }
    }

    [Benchmark(Description = "Parse(utf8)")]
    public ChatCompletion Parse() => ChatCompletionParser.Parse(_utf8);

    [Benchmark(Description = "Parse(string)")]
    public ChatCompletion ParseString() => ChatCompletionParser.Parse(_body);

    [Benchmark(Description = "ParseStream(utf8)")]
    public ChatCompletion ParseUtf8() => ChatCompletionParser.ParseStream(_utf8);
}
