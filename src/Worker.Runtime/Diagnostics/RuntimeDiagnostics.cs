using System.Diagnostics;

namespace Worker.Runtime.Diagnostics;

/// <summary>Names for OpenTelemetry set-up (<c>AddSource</c>, <c>AddMeter</c>) and the runtime's ActivitySource.</summary>
public static class RuntimeDiagnostics
{
    public const string ActivitySourceName = "Worker.Runtime";
    public const string MeterName = "Worker.Runtime";

    // Immutable and process-wide by design: listeners subscribe by name.
    internal static readonly ActivitySource ActivitySource = new(ActivitySourceName);
}
