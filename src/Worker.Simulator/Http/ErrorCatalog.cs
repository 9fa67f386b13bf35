using Worker.Simulator.Limits;

namespace Worker.Simulator.Http;

/// <summary>The fixed error answers, worded as the real APIs word them.</summary>
internal static class ErrorCatalog
{
    /// <summary>The organization named in rate limit messages.</summary>
    public const string SimulatedOrganization = "org-sim";

    private const string RateLimitsHint = "Visit https://platform.openai.com/account/rate-limits to learn more.";

    public static readonly ApiError InvalidJson = ApiError.InvalidRequest(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
        param: null,
        code: null);

    /// <summary>Anthropic's 529 <c>overloaded_error</c> (its "try again later", used where the others answer 503).</summary>
    public static ApiError AnthropicOverloaded { get; } = Anthropic(AnthropicErrorTypes.OverloadedStatus, "Overloaded");

    /// <summary>400 for a request without the <c>anthropic-version</c> header, as the Messages API words it.</summary>
    public static ApiError AnthropicVersionMissing { get; } = ApiError.InvalidRequest("anthropic-version: header is required", null, null);

    /// <summary>
    /// A 429. OpenAI's <c>type</c> names the limit that was hit (<c>requests</c> or <c>tokens</c>), with code
    /// <c>rate_limit_exceeded</c>.
    /// </summary>
    public static ApiError RateLimit(ErrorDialect dialect, int retryAfterSeconds, bool tokens = false) => dialect switch
    {
        ErrorDialect.Google => new(StatusCodes.Status429TooManyRequests, "Resource has been exhausted (e.g. check quota).", "rate_limit_exceeded", null, "rate_limit_exceeded", "RESOURCE_EXHAUSTED"),
        ErrorDialect.Anthropic => Anthropic(
            StatusCodes.Status429TooManyRequests,
            $"This request would exceed the rate limit for your organization ({SimulatedOrganization}) of {(tokens ? "input tokens" : "requests")} per minute (simulated). Please try again in {retryAfterSeconds}s."),
        _ => new(
            StatusCodes.Status429TooManyRequests,
            tokens
                ? $"Rate limit reached for tokens per min (TPM) (simulated). Please try again in {retryAfterSeconds}s."
                : $"Rate limit reached for requests per min (RPM) (simulated). Please try again in {retryAfterSeconds}s.",
            tokens ? "tokens" : "requests",
            null,
            "rate_limit_exceeded",
            "RESOURCE_EXHAUSTED"),
    };

    /// <summary>
    /// The 429 of <c>Simulator:RateLimits</c>, worded as OpenAI words it ("Rate limit reached for … Please try again in
    /// 120ms.", or "Request too large for …" when the request exceeds the whole bucket); Google's RESOURCE_EXHAUSTED;
    /// Anthropic's rate_limit_error.
    /// </summary>
    public static ApiError RateLimitReached(ErrorDialect dialect, string model, RateLimitRefusal refusal)
    {
        if (dialect == ErrorDialect.Google)
        {
            return RateLimit(dialect, retryAfterSeconds: 0);
        }

        if (dialect == ErrorDialect.Anthropic)
        {
            var what = refusal.Type == RateLimitType.Tokens ? "tokens" : "requests";
            return Anthropic(
                StatusCodes.Status429TooManyRequests,
                $"This request would exceed the rate limit for your organization ({SimulatedOrganization}) of {refusal.Limit} {what} per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.");
        }

        var (type, unit) = refusal.Type == RateLimitType.Tokens
            ? ("tokens", "tokens per min (TPM)")
            : ("requests", "requests per min (RPM)");
        var message = refusal.RetryAfter is { } wait
            ? $"Rate limit reached for {model} in organization {SimulatedOrganization} on {unit}: Limit {refusal.Limit}, Used {refusal.Used}, Requested {refusal.Requested}. Please try again in {RateLimitDuration.Format(wait)}. {RateLimitsHint}"
            : $"Request too large for {model} in organization {SimulatedOrganization} on {unit}: Limit {refusal.Limit}, Requested {refusal.Requested}. The input or output tokens must be reduced in order to run successfully. {RateLimitsHint}";
        return new(StatusCodes.Status429TooManyRequests, message, type, null, "rate_limit_exceeded", "RESOURCE_EXHAUSTED");
    }

    /// <summary>503 (Anthropic: 529) when every generation slot is busy (<c>Simulator:Capacity:Overflow = Reject</c>).</summary>
    public static ApiError Overloaded(ErrorDialect dialect, int maxConcurrent) => dialect switch
    {
        ErrorDialect.Google => new(StatusCodes.Status503ServiceUnavailable, "The model is overloaded. Please try again later.", "server_error", null, null, "UNAVAILABLE"),
        ErrorDialect.Anthropic => AnthropicOverloaded,
        _ => new(StatusCodes.Status503ServiceUnavailable, $"The server is overloaded: all {maxConcurrent} generation slots are busy. Please try again later.", "server_error", null, "server_overloaded", "UNAVAILABLE"),
    };

    /// <summary>404 for a model the simulator does not serve, worded as OpenAI words it.</summary>
    public static ApiError ModelNotFound(string model) => new(
        StatusCodes.Status404NotFound,
        $"The model `{model}` does not exist or you do not have access to it.",
        ApiError.InvalidRequestType,
        null,
        "model_not_found",
        "NOT_FOUND");

    public static ApiError ServerError(ErrorDialect dialect) => dialect switch
    {
        ErrorDialect.Google => new(StatusCodes.Status500InternalServerError, "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting", "server_error", null, null, "INTERNAL"),
        ErrorDialect.Anthropic => Anthropic(StatusCodes.Status500InternalServerError, "Internal server error"),
        _ => new(StatusCodes.Status500InternalServerError, "The server had an error while processing your request. Sorry about that!", "server_error", null, null, "INTERNAL"),
    };

    public static ApiError Unavailable(ErrorDialect dialect) => dialect switch
    {
        ErrorDialect.Google => new(StatusCodes.Status503ServiceUnavailable, "The model is overloaded. Please try again later.", "server_error", null, null, "UNAVAILABLE"),
        ErrorDialect.Anthropic => AnthropicOverloaded,
        _ => new(StatusCodes.Status503ServiceUnavailable, "The server is overloaded or not ready yet.", "server_error", null, null, "UNAVAILABLE"),
    };

    public static ApiError MissingApiKey(ErrorDialect dialect) => dialect switch
    {
        ErrorDialect.Google => new(StatusCodes.Status403Forbidden, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.", ApiError.InvalidRequestType, null, "invalid_api_key", "PERMISSION_DENIED"),
        ErrorDialect.Anthropic => Anthropic(StatusCodes.Status401Unauthorized, "x-api-key header is required"),
        _ => new(StatusCodes.Status401Unauthorized, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", ApiError.InvalidRequestType, null, "invalid_api_key", "UNAUTHENTICATED"),
    };

    public static ApiError InvalidApiKey(ErrorDialect dialect, string presentedKey) => dialect switch
    {
        ErrorDialect.Google => new(StatusCodes.Status400BadRequest, "API key not valid. Please pass a valid API key.", ApiError.InvalidRequestType, null, "invalid_api_key", "INVALID_ARGUMENT"),

        // Anthropic does not quote the key at all.
        ErrorDialect.Anthropic => Anthropic(StatusCodes.Status401Unauthorized, "invalid x-api-key"),
        _ => new(StatusCodes.Status401Unauthorized, $"Incorrect API key provided: {Mask(presentedKey)}. You can find your API key at https://platform.openai.com/account/api-keys.", ApiError.InvalidRequestType, null, "invalid_api_key", "UNAUTHENTICATED"),
    };

    /// <summary>Never echo a presented key: at most its last four characters, and nothing of a short one.</summary>
    internal static string Mask(string key) => key.Length >= 12 ? string.Concat("****", key.AsSpan(key.Length - 4)) : "****";

    /// <summary>An Anthropic-only error: its JSON type follows from the status (<see cref="AnthropicErrorTypes"/>).</summary>
    private static ApiError Anthropic(int statusCode, string message) =>
        new(statusCode, message, AnthropicErrorTypes.For(statusCode), null, null, "UNKNOWN");
}
