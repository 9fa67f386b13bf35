using Worker.Simulator.Generation;

namespace Worker.Simulator.Tests.Generation;

/// <summary>The public answer function other projects' tests rely on.</summary>
public sealed class AnswerGeneratorTests
{
    [Fact]
    public void Answer_is_stable_across_processes()
    {
        // Pinned: if this changes, every recorded expectation elsewhere changes too (FNV-1a + SplitMix64, fixed words).
        Assert.Equal("Meet as. Simple", AnswerGenerator.Generate("gpt-4o-mini", "Hello there", 0, 3));
    }

    [Fact]
    public void Default_length_is_between_12_and_40_tokens_and_varies_with_the_prompt()
    {
        var lengths = Enumerable.Range(0, 200).Select(i => AnswerGenerator.DefaultTokenCount("m", $"prompt {i}")).ToList();

        Assert.All(lengths, n => Assert.InRange(n, AnswerGenerator.MinDefaultTokens, AnswerGenerator.MaxDefaultTokens));
        Assert.True(lengths.Distinct().Count() > 10);
        Assert.Equal(AnswerGenerator.DefaultTokenCount("m", "prompt 1"), AnswerGenerator.Tokenize(AnswerGenerator.Generate("m", "prompt 1")).Count);
    }

    [Fact]
    public void Shorter_answers_are_prefixes_of_longer_ones()
    {
        var full = AnswerGenerator.Generate("m", "p", 0, 50);
        for (var n = 0; n <= 50; n++)
        {
            Assert.StartsWith(AnswerGenerator.Generate("m", "p", 0, n), full, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Tokens_are_words_that_concatenate_to_the_text()
    {
        var tokens = AnswerGenerator.GenerateTokens("m", "tokens please", 1, 30);
        var text = AnswerGenerator.Generate("m", "tokens please", 1, 30);

        Assert.Equal(30, tokens.Count);
        Assert.Equal(text, string.Concat(tokens));
        Assert.DoesNotContain(' ', tokens[0]);
        Assert.All(tokens.Skip(1), t => Assert.StartsWith(" ", t, StringComparison.Ordinal));
        Assert.All(tokens, t => Assert.Matches("^ ?[A-Za-z]+\\.?$", t));
        Assert.True(char.IsUpper(text[0]));
    }

    [Fact]
    public void Choices_differ()
    {
        Assert.NotEqual(AnswerGenerator.Generate("m", "p", 0, 20), AnswerGenerator.Generate("m", "p", 1, 20));
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("one", 1)]
    [InlineData("  two\twords\n", 2)]
    [InlineData("naïve café", 2)]
    public void Words_are_runs_of_non_white_space(string text, int words)
    {
        Assert.Equal(words, AnswerGenerator.CountWords(text));
    }

    [Fact]
    public void Complete_applies_max_tokens()
    {
        Assert.Equal("stop", AnswerGenerator.Complete("m", "p", requestedTokens: 5, maxTokens: 5).FinishReason);
        var cut = AnswerGenerator.Complete("m", "p", requestedTokens: 5, maxTokens: 4);
        Assert.Equal("length", cut.FinishReason);
        Assert.Equal(4, cut.CompletionTokens);
    }
}
