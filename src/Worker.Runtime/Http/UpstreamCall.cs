namespace Worker.Runtime.Http;

/// <summary>A validated upstream request, with a printable form of its target (no query string: it may hold keys).</summary>
internal sealed record UpstreamCall(HttpRequestMessage Request, string Method, string SafeUrl);
