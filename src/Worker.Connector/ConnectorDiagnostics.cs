using System.Diagnostics;

namespace Worker.Connector;

/// <summary>The library's ActivitySource name, for <c>AddSource</c> in OpenTelemetry set-up.</summary>
public static class ConnectorDiagnostics
{
    public const string ActivitySourceName = "Worker.Connector";

    internal static readonly ActivitySource ActivitySource = new(ActivitySourceName);
}
