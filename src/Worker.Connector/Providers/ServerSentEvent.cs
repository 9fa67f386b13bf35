namespace Worker.Connector.Providers;

/// <summary>One server-sent event: its <c>event:</c> name (null when none was given) and its data lines joined with '\n'.</summary>
public readonly record struct ServerSentEvent(string? Name, ReadOnlyMemory<byte> Data);
