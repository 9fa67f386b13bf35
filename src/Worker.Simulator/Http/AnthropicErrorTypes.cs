namespace Worker.Simulator.Http;

/// <summary>Anthropic names an error by a <c>type</c> that follows from the HTTP status; one table for all of them.</summary>
internal static class AnthropicErrorTypes
{
    /// <summary>Anthropic's "overloaded" status, used instead of 503.</summary>
    public const int OverloadedStatus = 529;

    public static string For(int statusCode) => statusCode switch
    {
        StatusCodes.Status400BadRequest => "invalid_request_error",
        StatusCodes.Status401Unauthorized => "authentication_error",
        StatusCodes.Status403Forbidden => "permission_error",
        StatusCodes.Status404NotFound => "not_found_error",
        StatusCodes.Status413PayloadTooLarge => "request_too_large",
        StatusCodes.Status429TooManyRequests => "rate_limit_error",
        StatusCodes.Status503ServiceUnavailable or OverloadedStatus => "overloaded_error",
        _ => "api_error",
    };
}
