using Worker.Runtime.Configuration;
using Worker.Runtime.Http;

namespace Worker.Runtime.Tests;

public sealed class HostAllowlistTests
{
    [Theory]
    [InlineData("http://api.openai.com/v1", true)]
    [InlineData("https://API.OpenAI.com:443/v1", true)]
    [InlineData("https://eu.api.anthropic.com/", true)]
    [InlineData("https://anthropic.com/", false)]
    [InlineData("http://127.0.0.1:4545/", true)]
    [InlineData("http://127.0.0.1:4546/", false)]
    [InlineData("http://[::1]:8080/", true)]
    [InlineData("http://[::1]:8081/", false)]
    [InlineData("http://evil.com/?u=api.openai.com", false)]
    [InlineData("http://api.openai.com.evil.com/", false)]
    public void Matches_hosts_ports_and_wildcards(string url, bool allowed)
    {
        var allowlist = HostAllowlist.Create(["api.openai.com", "*.anthropic.com, 127.0.0.1:4545", "[::1]:8080"]);

        Assert.Equal(allowed, allowlist.IsAllowed(new Uri(url)));
    }

    [Fact]
    public void Empty_allows_any_host() => Assert.True(HostAllowlist.Create([]).IsAllowed(new Uri("http://anything.example/")));

    [Theory]
    [InlineData("")]
    [InlineData("http://x")]
    [InlineData("host/path")]
    [InlineData("host:99999")]
    [InlineData("*")]
    [InlineData("a*.b.com")]
    [InlineData("user@host")]
    public void Rejects_malformed_entries(string entry) => Assert.False(HostAllowlist.TryParseEntries(entry, out _));

    [Theory]
    [InlineData("0660", 0x1B0)]
    [InlineData("660", 0x1B0)]
    [InlineData("0600", 0x180)]
    public void Parses_octal_modes(string text, int expected)
    {
        Assert.True(SocketFileModeParser.TryParse(text, out var mode, out _));
        Assert.Equal((UnixFileMode)expected, mode);
    }
}
