namespace Worker.Simulator.Faults;

/// <summary>Maps fault modes to and from the names used in options and the <c>X-Sim-Fault</c> header.</summary>
internal static class FaultModeNames
{
    /// <summary>Modes drawn when <c>Simulator:Faults:Modes</c> is empty; hang is opt-in because it never ends on its own.</summary>
    public static readonly FaultMode[] DefaultRandomModes =
    [
        FaultMode.RateLimit,
        FaultMode.ServerError,
        FaultMode.Unavailable,
        FaultMode.Drop,
        FaultMode.Malformed,
        FaultMode.ErrorEvent,
    ];

    /// <summary>Names of the real faults (everything but <c>none</c>), for error messages.</summary>
    public const string FaultNames = "rate_limit, server_error, unavailable, hang, drop, malformed, error_event";

    private static readonly (string Name, FaultMode Mode)[] Names =
    [
        ("none", FaultMode.None),
        ("rate_limit", FaultMode.RateLimit),
        ("server_error", FaultMode.ServerError),
        ("unavailable", FaultMode.Unavailable),
        ("hang", FaultMode.Hang),
        ("drop", FaultMode.Drop),
        ("malformed", FaultMode.Malformed),
        ("error_event", FaultMode.ErrorEvent),
    ];

    public static string ToName(FaultMode mode)
    {
        foreach (var (name, value) in Names)
        {
            if (value == mode)
            {
                return name;
            }
        }

        return "none";
    }

    public static bool TryParse(ReadOnlySpan<char> text, out FaultMode mode)
    {
        text = text.Trim();
        foreach (var (name, value) in Names)
        {
            if (text.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                mode = value;
                return true;
            }
        }

        mode = FaultMode.None;
        return false;
    }
}
