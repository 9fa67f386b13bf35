using Worker.Simulator.Generation;
using Worker.Simulator.Limits;

namespace Worker.Simulator.Tests.Limits;

/// <summary>The token pre-estimate: characters / 4 rounded up, plus max tokens × n.</summary>
public sealed class RequestChargeTests
{
    [Theory]
    [InlineData(0, null, 1, 0, 0)]
    [InlineData(1, null, 1, 0, 1)]
    [InlineData(8, null, 1, 0, 2)]
    [InlineData(9, 40, 1, 0, 43)]
    [InlineData(9, null, 1, 100, 103)]
    [InlineData(4, 10, 3, 0, 31)]
    public void Prompt_quarter_rounded_up_plus_max_tokens_per_choice(long chars, int? maxTokens, int n, int defaultMax, long expected) =>
        Assert.Equal(expected, new RequestCharge("m", chars, maxTokens, n).Tokens(defaultMax));

    [Fact]
    public void Characters_are_unicode_scalars_in_utf16_and_utf8_alike()
    {
        const string Text = "héllo 😀";

        Assert.Equal(7, TextRules.CountChars(Text));
        Assert.Equal(7, TextRules.CountChars(System.Text.Encoding.UTF8.GetBytes(Text)));
    }
}
