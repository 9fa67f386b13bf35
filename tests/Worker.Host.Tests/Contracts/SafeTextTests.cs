using Worker.Host.Contracts;

namespace Worker.Host.Tests.Contracts;

public sealed class SafeTextTests
{
    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("two\nlines", "two\\nlines")]
    [InlineData("a\u0001b\u007f\u2028c", "a\\u0001b\\u007f\\u2028c")]
    [InlineData("cr\rtab\t", "cr\\rtab\\t")]
    public void Control_characters_become_visible_escapes(string text, string expected) =>
        Assert.Equal(expected, SafeText.Escape(text));

    [Fact]
    public void Long_text_is_clipped_and_marked() =>
        Assert.Equal(new string('x', 10) + "…", SafeText.Escape(new string('x', 50), maxLength: 10));
}
