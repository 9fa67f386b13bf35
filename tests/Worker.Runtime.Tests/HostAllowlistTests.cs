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

    [Theory]
    [InlineData("https://api.openai.com/v1", "api.openai.com:443")]
    [InlineData("http://localhost/v1", "localhost:80")]
    [InlineData("http://127.0.0.1:4545/v1", "127.0.0.1:4545")]
    [InlineData("http://[::1]:8080/v1", "[::1]:8080")]
    [InlineData("https://[::1]/v1", "[::1]:443")]
    public void The_automatic_entry_for_an_endpoint_always_names_its_port(string endpoint, string expected)
    {
        var entry = AllowedHostEntry.For(new Uri(endpoint));

        Assert.Equal(expected, entry);
        Assert.True(HostAllowlist.TryParseEntries(entry, out _));
        Assert.True(HostAllowlist.Create([entry]).IsAllowed(new Uri(endpoint)));
    }

    [Theory]
    [InlineData("https://api.openai.com/v1/chat/completions", true)]
    [InlineData("https://api.openai.com:443/v1", true)]
    [InlineData("https://api.openai.com:8443/v1", false)]
    [InlineData("http://api.openai.com/v1", false)]
    [InlineData("https://api.openai.com:22/", false)]
    public void An_endpoint_on_its_default_port_allows_only_that_port(string url, bool allowed)
    {
        var allowlist = HostAllowlist.Create([AllowedHostEntry.For(new Uri("https://api.openai.com/v1"))]);

        Assert.Equal(allowed, allowlist.IsAllowed(new Uri(url)));
    }

    [Theory]
    [InlineData("https://api.openai.com:8443/", true)]
    [InlineData("http://api.openai.com/", true)]
    public void An_operator_written_bare_host_still_allows_any_port(string url, bool allowed) =>
        Assert.Equal(allowed, HostAllowlist.Create(["api.openai.com"]).IsAllowed(new Uri(url)));

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
