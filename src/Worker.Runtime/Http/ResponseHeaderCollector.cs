namespace Worker.Runtime.Http;

/// <summary>Response headers as the protocol returns them: names lower-case, content headers included, repeats joined.</summary>
internal static class ResponseHeaderCollector
{
    public static Dictionary<string, string> Collect(HttpResponseMessage response)
    {
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        Add(headers, response.Headers.NonValidated);
        Add(headers, response.Content.Headers.NonValidated);
        return headers;
    }

    private static void Add(Dictionary<string, string> headers, System.Net.Http.Headers.HttpHeadersNonValidated source)
    {
        foreach (var (name, values) in source)
        {
            var key = name.ToLowerInvariant();
            var value = values.Count == 1 ? values.ToString() : string.Join(", ", values);
            headers[key] = headers.TryGetValue(key, out var existing) ? $"{existing}, {value}" : value;
        }
    }
}
