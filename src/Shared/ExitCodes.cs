namespace Worker.Hosting;

/// <summary>
/// Exit codes of all three executables (one source file, compiled into each; docs/deployment.md): a supervisor restarts on
/// <see cref="Fatal"/>, and must not restart on <see cref="Usage"/> or <see cref="Configuration"/> (systemd:
/// <c>RestartPreventExitStatus=2 78</c>).
/// </summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    public const int Success = Ok;

    /// <summary>A loop the worker depends on failed (e.g. the consumer could not start): restart it.</summary>
    public const int Fatal = 1;

    /// <summary>Unknown command or option: usage printed, nothing started.</summary>
    public const int Usage = 2;

    /// <summary>Invalid configuration (EX_CONFIG): the message names the key.</summary>
    public const int Configuration = 78;
}
