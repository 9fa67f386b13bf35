namespace Worker.Connector.Protocol;

/// <summary>The frame's type byte.</summary>
public enum MessageType : byte
{
    ExecuteRequest = 0,
    ExecuteResponse = 1,
    HealthCheck = 2,
    HealthResponse = 3,
    CreditUpdate = 4,
}
