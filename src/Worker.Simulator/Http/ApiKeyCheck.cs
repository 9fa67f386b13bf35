using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Worker.Simulator.Options;

namespace Worker.Simulator.Http;

/// <summary>Checks the presented API key against <c>Simulator:ApiKey</c> (when one is configured).</summary>
internal sealed class ApiKeyCheck
{
    private readonly byte[]? _key;

    public ApiKeyCheck(IOptions<SimulatorOptions> options)
    {
        var key = options.Value.ApiKey;
        _key = string.IsNullOrEmpty(key) ? null : Encoding.UTF8.GetBytes(key);
    }

    /// <summary>Null when the request may pass; otherwise the error to answer with.</summary>
    /// <param name="request">The request.</param>
    /// <param name="dialect">Google routes also accept <c>x-goog-api-key</c> and <c>?key=</c>; Anthropic's <c>x-api-key</c>.</param>
    public ApiError? Check(HttpRequest request, ErrorDialect dialect)
    {
        if (_key is null)
        {
            return null;
        }

        var presented = PresentedKey(request, dialect);
        if (string.IsNullOrEmpty(presented))
        {
            return ErrorCatalog.MissingApiKey(dialect);
        }

        // Constant-time comparison: a simulator is still a place keys get pasted into.
        var matches = CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), _key);
        return matches ? null : ErrorCatalog.InvalidApiKey(dialect, presented);
    }

    private static string? PresentedKey(HttpRequest request, ErrorDialect dialect)
    {
        var authorization = request.Headers.Authorization.ToString();
        const string Bearer = "Bearer ";
        if (authorization.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase))
        {
            return authorization[Bearer.Length..].Trim();
        }

        if (dialect == ErrorDialect.Anthropic)
        {
            var anthropicKey = request.Headers["x-api-key"].ToString();
            return anthropicKey.Length > 0 ? anthropicKey : null;
        }

        if (dialect == ErrorDialect.Google)
        {
            var googleKey = request.Headers["x-goog-api-key"].ToString();
            return googleKey.Length > 0 ? googleKey : request.Query["key"].ToString();
        }

        return null;
    }
}
