namespace Worker.Simulator.Limits;

/// <summary>Which bucket pair a request is charged to: its API key, however presented; no key shares one anonymous pair.</summary>
internal static class RateLimitKey
{
    public const string Anonymous = "";

    public static string From(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        const string Bearer = "Bearer ";
        if (authorization.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
        {
            return authorization[Bearer.Length..].Trim();
        }

        var key = request.Headers["x-api-key"].ToString();
        if (key.Length > 0)
        {
            return key;
        }

        key = request.Headers["x-goog-api-key"].ToString();
        return key.Length > 0 ? key : request.Query["key"].ToString();
    }
}
