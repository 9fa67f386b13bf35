using System.Text;
using Worker.Host.Contracts;
using Xunit.Abstractions;

namespace Worker.Chaos.Tests;

/// <summary>The hostile corpus itself, checked against the worker's own parser (no broker needed).</summary>
public sealed class HostileCorpusTests(ITestOutputHelper output)
{
    private const int CorpusSize = 10_000;

    [Fact]
    public void Corpus_expectations_agree_with_the_workers_parser()
    {
        var corpus = HostileCorpus.Generate(CorpusSize, seed: 7);

        Assert.InRange(corpus.Count, CorpusSize, CorpusSize + 200);
        Assert.Equal(5, corpus.Count(c => c.Body.Length == 10 * 1024 * 1024));
        var threw = corpus.Where(c => c.ParserException is not null).ToList();
        Assert.True(threw.Count == 0, $"JobParser.Parse threw instead of classifying {threw.Count} bodies " +
            $"({string.Join(", ", threw.GroupBy(c => c.ParserException).Select(g => $"{g.Count()}x {g.Key}"))}), e.g. {Describe(threw.FirstOrDefault())}");
        var disagree = corpus.Where(c => !Agrees(c)).ToList();
        Assert.True(disagree.Count == 0, $"{disagree.Count} cases classified otherwise than built, e.g. {Describe(disagree.FirstOrDefault())}");
        foreach (var kind in corpus.GroupBy(c => c.Kind).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"{kind.Key,-16} {kind.Count(),5}");
        }
    }

    internal static bool Agrees(HostileCase c) => (c.Expected, c.ParserOutcome) switch
    {
        (HostileExpectation.DeadLettered, JobOutcome.DeadLettered) => true,
        (HostileExpectation.Failed, JobOutcome.Failed) => true,
        (HostileExpectation.Succeeded, JobOutcome.Succeeded) => true,
        (HostileExpectation.AnsweredOrDeadLettered, JobOutcome.Succeeded or JobOutcome.DeadLettered) => true,
        _ => false,
    };

    internal static string Describe(HostileCase? c) => c is null ? "" :
        $"{c.CaseId} ({c.Kind}, expected {c.Expected}, parser {c.ParserOutcome?.ToString() ?? c.ParserException}): {Preview(c.Body)}";

    internal static string Preview(byte[] body) =>
        body.Length <= 160 ? Convert.ToBase64String(body) + " = " + Encoding.UTF8.GetString(body) : $"{body.Length} bytes: {Encoding.UTF8.GetString(body, 0, 120)}...";
}
