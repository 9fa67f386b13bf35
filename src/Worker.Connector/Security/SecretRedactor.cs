using System.Text;
using System.Text.RegularExpressions;

namespace Worker.Connector.Security;

/// <summary>
/// Removes secrets from text that came from elsewhere (an upstream's error message may echo the key it was sent, whole
/// or in part): any run of <see cref="MinimumRun"/> or more characters of the configured key, and anything shaped like
/// an API key (<c>sk-…</c>) or a bearer token, becomes <c>***</c>.
/// </summary>
public static partial class SecretRedactor
{
    /// <summary>Shortest piece of the key that is redacted: short enough to catch a key cut by an upstream, long enough not to eat words.</summary>
    public const int MinimumRun = 8;

    public const string Mask = "***";

    public static string Redact(string text, string? secret)
    {
        ArgumentNullException.ThrowIfNull(text);
        var masked = KeyShaped().Replace(text, Mask);
        if (string.IsNullOrEmpty(secret) || secret.Length < MinimumRun)
        {
            return string.IsNullOrEmpty(secret) ? masked : masked.Replace(secret, Mask, StringComparison.Ordinal);
        }

        // Mark every position covered by a run of ≥ MinimumRun characters that also occurs in the secret.
        var covered = new bool[masked.Length];
        var any = false;
        for (var start = 0; start + MinimumRun <= secret.Length; start++)
        {
            var window = secret.AsSpan(start, MinimumRun);
            var from = 0;
            int at;
            while (from < masked.Length && (at = masked.AsSpan(from).IndexOf(window, StringComparison.Ordinal)) >= 0)
            {
                at += from;
                covered.AsSpan(at, MinimumRun).Fill(true);
                any = true;
                from = at + 1;
            }
        }

        if (!any)
        {
            return masked;
        }

        var builder = new StringBuilder(masked.Length);
        for (var i = 0; i < masked.Length; i++)
        {
            if (!covered[i])
            {
                builder.Append(masked[i]);
            }
            else if (i == 0 || !covered[i - 1])
            {
                builder.Append(Mask);
            }
        }

        return builder.ToString();
    }

    // OpenAI-style keys (sk-, sk-proj-…), Anthropic (sk-ant-…), and bearer tokens of any provider.
    [GeneratedRegex(@"(?:\bsk-[A-Za-z0-9_\-]{12,}|(?i:bearer)\s+[A-Za-z0-9._~+/\-]{12,}=*)", RegexOptions.CultureInvariant)]
    private static partial Regex KeyShaped();
}
