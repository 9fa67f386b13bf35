using System.ComponentModel.DataAnnotations;

namespace Worker.Host.Configuration;

/// <summary>
/// What a job may ask of the endpoint. Section <c>Llm:Parameters</c>. A job over a ceiling, or with a parameter the
/// policy refuses, is answered with a failed <c>InvalidRequest</c> result — never silently clipped — so one producer
/// cannot multiply the team's bill.
/// </summary>
public sealed class ParameterPolicyOptions
{
    public const string SectionName = "Llm:Parameters";

    /// <summary>Pass-through parameters refused when <see cref="Denied"/> is not configured.</summary>
    public static readonly IReadOnlyList<string> DefaultDenied = ["store", "service_tier", "logprobs", "top_logprobs"];

    /// <summary>Most choices (<c>n</c>) a job may ask for. Default 4.</summary>
    [Range(1, 128)]
    public int MaxChoices { get; set; } = 4;

    /// <summary>Largest <c>max_tokens</c> / <c>max_completion_tokens</c> a job may ask for. Default 32,768.</summary>
    [Range(1, 10_000_000)]
    public int MaxOutputTokens { get; set; } = 32_768;

    /// <summary>
    /// When set, the only pass-through parameters allowed (besides the typed ones: temperature, max_tokens,
    /// max_completion_tokens). Default: not set (everything not in <see cref="Denied"/>).
    /// </summary>
    public string[]? Allowed { get; set; }

    /// <summary>Pass-through parameters refused. Default: store, service_tier, logprobs, top_logprobs. An empty list allows all.</summary>
    public string[]? Denied { get; set; }

    /// <summary>The policy as the job parser applies it.</summary>
    public ParameterPolicy ToPolicy() => new(MaxChoices, MaxOutputTokens, Allowed, Denied ?? [.. DefaultDenied]);
}

/// <summary>The parameter policy a job is checked against (see <see cref="ParameterPolicyOptions"/>).</summary>
public sealed record ParameterPolicy(int MaxChoices, int MaxOutputTokens, IReadOnlyCollection<string>? Allowed, IReadOnlyCollection<string> Denied)
{
    public static ParameterPolicy Default { get; } = new ParameterPolicyOptions().ToPolicy();

    /// <summary>Null when the parameter may pass; else why not.</summary>
    public string? Refuse(string name)
    {
        if (Allowed is not null && !Allowed.Contains(name, StringComparer.Ordinal))
        {
            return $"parameter_not_allowed: '{name}' is not in Llm:Parameters:Allowed";
        }

        return Denied.Contains(name, StringComparer.Ordinal) ? $"parameter_not_allowed: '{name}' is refused by Llm:Parameters:Denied" : null;
    }
}
