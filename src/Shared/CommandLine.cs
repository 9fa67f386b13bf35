using System.CommandLine;

namespace Worker.Hosting;

/// <summary>
/// What the command line asked for: to run (with the configuration arguments to hand to the host), or an exit code
/// because help, the version or a usage error has already been written.
/// </summary>
internal sealed record CommandLineOutcome(int? ExitCode, IReadOnlyList<string> ConfigurationArguments, ParseResult? Parse);

/// <summary>
/// The shared conventions of the executables: <c>--help</c>/<c>-h</c>, <c>--version</c>, and configuration
/// overrides in the configuration providers' own form (<c>--Section:Key=value</c> or <c>--Section:Key value</c>).
/// Anything else that is not a declared option is a usage error: usage on stderr, exit code 2, before anything binds.
/// </summary>
internal static class CommandLine
{
    public static CommandLineOutcome Parse(RootCommand root, string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(root);
        var run = false;
        root.TreatUnmatchedTokensAsErrors = false;
        root.SetAction(_ => run = true);
        var parse = root.Parse(args);

        var problems = parse.Errors.Select(e => e.Message).ToList();
        var configuration = SplitConfiguration(parse.UnmatchedTokens, problems);
        if (problems.Count > 0)
        {
            foreach (var problem in problems)
            {
                error.WriteLine(problem);
            }

            error.WriteLine();
            root.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = error, Error = error });
            return new CommandLineOutcome(ExitCodes.Usage, [], null);
        }

        var code = parse.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
        return run ? new CommandLineOutcome(null, configuration, parse) : new CommandLineOutcome(code, [], null);
    }

    /// <summary>Keeps configuration overrides (a key with ':'), reports every other stray token.</summary>
    private static List<string> SplitConfiguration(IReadOnlyList<string> tokens, List<string> problems)
    {
        var configuration = new List<string>();
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            var key = token.StartsWith("--", StringComparison.Ordinal) ? token[2..] : null;
            var eq = key?.IndexOf('=', StringComparison.Ordinal) ?? -1;
            var name = eq >= 0 ? key![..eq] : key;
            if (name is null || !name.Contains(':', StringComparison.Ordinal) || name.StartsWith(':'))
            {
                problems.Add(token.StartsWith('-') ? $"Unrecognized option '{token}'." : $"Unrecognized command or argument '{token}'.");
                continue;
            }

            configuration.Add(token);
            if (eq < 0)
            {
                // "--Section:Key value": the value is the next token.
                if (i + 1 >= tokens.Count || tokens[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    problems.Add($"Configuration override '{token}' has no value (use {token}=VALUE).");
                    continue;
                }

                configuration.Add(tokens[++i]);
            }
        }

        return configuration;
    }
}
