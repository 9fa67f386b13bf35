namespace Worker.Connector.OpenAi;

/// <summary>Maps OpenAI error objects (<c>{"error":{"message","type","code"}}</c>) to error classes.</summary>
internal static class OpenAiErrors
{
    public static ConnectorException FromErrorObject(ErrorDto error, string where)
    {
        var kind = $"{error.Type} {error.Code}";
        var errorClass =
            Contains(kind, "rate_limit") || Contains(kind, "quota") ? ErrorClass.RateLimited
            : Contains(kind, "auth") || Contains(kind, "api_key") || Contains(kind, "permission") ? ErrorClass.Permanent
            : Contains(kind, "invalid_request") || Contains(kind, "context_length") ? ErrorClass.InvalidRequest
            : ErrorClass.Transient;
        var message = errorClass == ErrorClass.Permanent
            ? $"The upstream reported an authentication error {where} ({error.Code ?? error.Type})."
            : $"The upstream reported an error {where}: {error.Message ?? error.Type ?? "unknown error"}";
        return new ConnectorException(errorClass, message);
    }

    private static bool Contains(string text, string part) => text.Contains(part, StringComparison.OrdinalIgnoreCase);
}
