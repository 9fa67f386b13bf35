namespace Worker.Simulator.Http;

/// <summary>An error answer: HTTP status plus the fields of both error shapes.</summary>
/// <param name="StatusCode">HTTP status.</param>
/// <param name="Message">Human-readable message.</param>
/// <param name="Type">OpenAI <c>type</c>, e.g. invalid_request_error.</param>
/// <param name="Param">OpenAI <c>param</c>: the offending parameter, or null.</param>
/// <param name="Code">OpenAI <c>code</c>, or null.</param>
/// <param name="GoogleStatus">Google <c>status</c>, e.g. INVALID_ARGUMENT.</param>
internal sealed record ApiError(int StatusCode, string Message, string Type, string? Param, string? Code, string GoogleStatus)
{
    public const string InvalidRequestType = "invalid_request_error";

    public static ApiError InvalidRequest(string message, string? param, string? code) =>
        new(StatusCodes.Status400BadRequest, message, InvalidRequestType, param, code, "INVALID_ARGUMENT");
}
