using Worker.Connector.Security;

namespace Worker.Connector.Tests.Security;

public sealed class SecretRedactorTests
{
    private const string Key = "sk-proj-Abc123Def456Ghi789Jkl012";

    [Fact]
    public void The_whole_key_is_masked()
    {
        Assert.Equal("Incorrect API key provided: ***.", SecretRedactor.Redact($"Incorrect API key provided: {Key}.", Key));
    }

    [Theory]
    [InlineData(16)]
    [InlineData(8)]
    public void Any_run_of_eight_or_more_characters_of_the_key_is_masked(int length)
    {
        foreach (var start in new[] { 0, 5, Key.Length - length })
        {
            var fragment = Key.Substring(start, length);
            var redacted = SecretRedactor.Redact($"key ending in {fragment} is invalid", Key);
            Assert.DoesNotContain(fragment, redacted, StringComparison.Ordinal);
            Assert.Contains("***", redacted, StringComparison.Ordinal);
            Assert.StartsWith("key ending in ", redacted, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Short_common_pieces_and_unrelated_text_are_kept()
    {
        Assert.Equal("model gpt-4o-mini is not available (sk-p)", SecretRedactor.Redact("model gpt-4o-mini is not available (sk-p)", Key));
    }

    [Theory]
    [InlineData("your key sk-otherKEY0123456789abcd was rejected")]
    [InlineData("Authorization: Bearer abcdefghijklmnop0123 rejected")]
    public void Anything_shaped_like_a_key_is_masked_even_when_it_is_not_ours(string text)
    {
        var redacted = SecretRedactor.Redact(text, Key);
        Assert.Contains("***", redacted, StringComparison.Ordinal);
        Assert.DoesNotContain("0123", redacted, StringComparison.Ordinal);
    }
}
