using Worker.Simulator.Http;

namespace Worker.Simulator.Json;

/// <summary>Carries a 400 out of the depths of a request parser; only ever thrown for an invalid request.</summary>
internal sealed class RequestValidationException(ApiError error) : Exception(error.Message)
{
    public ApiError Error { get; } = error;
}
