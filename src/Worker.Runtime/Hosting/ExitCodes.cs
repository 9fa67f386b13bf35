namespace Worker.Runtime.Hosting;

/// <summary>The executables' exit codes (sysexits.h where one fits, the same as Worker.Host).</summary>
internal static class ExitCodes
{
    public const int Success = 0;

    /// <summary>A fatal error while running (e.g. the socket cannot be bound).</summary>
    public const int Fatal = 1;

    /// <summary>Unknown command or option, or a malformed value: usage on stderr, nothing started.</summary>
    public const int Usage = 2;

    /// <summary>EX_CONFIG: a configuration value is invalid.</summary>
    public const int Configuration = 78;
}
