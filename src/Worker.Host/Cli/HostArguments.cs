namespace Worker.Host.Cli;

/// <summary>
/// Splits the command line into CLI tokens and configuration overrides (<c>--Section:Key=value</c> or
/// <c>--Section:Key value</c>): only the former are parsed as commands and options, so a mistyped command or option
/// is an error instead of being taken as configuration (and starting the worker).
/// </summary>
public static class HostArguments
{
    public static (string[] Cli, string[] Configuration) Split(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var cli = new List<string>();
        var configuration = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!IsConfiguration(arg))
            {
                cli.Add(arg);
                continue;
            }

            configuration.Add(arg);
            if (!arg.Contains('=', StringComparison.Ordinal) && i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                configuration.Add(args[++i]);
            }
        }

        return ([.. cli], [.. configuration]);
    }

    // A configuration key always has a section: "--Worker:Concurrency". CLI options never contain ':'.
    private static bool IsConfiguration(string arg) =>
        arg.StartsWith("--", StringComparison.Ordinal) && arg.IndexOf(':', StringComparison.Ordinal) is > 2 and var colon
        && (arg.IndexOf('=', StringComparison.Ordinal) is var equals && (equals < 0 || colon < equals));
}
