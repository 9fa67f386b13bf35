using Worker.Connector;

namespace Worker.Runtime.Server;

/// <summary>The outcome of one request, before it is framed: an error class, a message for failures, a payload for success.</summary>
internal readonly record struct ExecutionResult(ErrorClass ErrorClass, string? ErrorMessage, ReadOnlyMemory<byte> Payload)
{
    public static ExecutionResult Success(ReadOnlyMemory<byte> payload) => new(ErrorClass.Success, null, payload);

    public static ExecutionResult Failure(ErrorClass errorClass, string message) => new(errorClass, message, ReadOnlyMemory<byte>.Empty);
}
