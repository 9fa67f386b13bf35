using System.Text;

namespace Worker.Connector.Http;

/// <summary>An HTTP request to send through the runtime's <c>http</c> connector.</summary>
public sealed record HttpRequest
{
    public string Method { get; init; } = "GET";
    public required string Url { get; init; }
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();
    /// <summary>The body as text; ignored when <see cref="BodyUtf8"/> is set.</summary>
    public string? Body { get; init; }

    /// <summary>The body as UTF-8 bytes (what JSON writers produce): sent without a detour through a string.</summary>
    public ReadOnlyMemory<byte>? BodyUtf8 { get; init; }

    /// <summary>Per-request timeout; null = the client's default.</summary>
    public TimeSpan? Timeout { get; init; }

    public string? TenantId { get; init; }
    public string? WorkspaceId { get; init; }
    public string? TraceId { get; init; }

    public static HttpRequest Get(string url) => new() { Url = url };

    public static HttpRequest PostJson(string url, string json) => new()
    {
        Method = "POST",
        Url = url,
        Body = json,
        Headers = new Dictionary<string, string> { ["Content-Type"] = "application/json" },
    };

    /// <summary>Header names only: values may be credentials and must never reach a log.</summary>
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Method = ").Append(Method).Append(", Url = ").Append(Url)
            .Append(", Headers = [").AppendJoin(", ", Headers.Keys).Append("], Body = ").Append(BodyUtf8?.Length ?? Body?.Length ?? 0).Append(" body units");
        return true;
    }
}
