using System.Collections;
using System.Globalization;

namespace Worker.Runtime.Diagnostics;

/// <summary>The logging scope of one request: structured properties for log sinks, a short text for consoles.</summary>
internal sealed class RequestLogScope : IReadOnlyList<KeyValuePair<string, object?>>
{
    private readonly KeyValuePair<string, object?>[] _items;

    public RequestLogScope(ulong requestId, string tenantId, string? workspaceId, string? traceId)
    {
        _items =
        [
            new("RequestId", requestId),
            new("TenantId", tenantId),
            new("WorkspaceId", workspaceId),
            new("TraceId", traceId),
        ];
    }

    public int Count => _items.Length;

    public KeyValuePair<string, object?> this[int index] => _items[index];

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => ((IEnumerable<KeyValuePair<string, object?>>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"request {_items[0].Value} tenant {_items[1].Value} workspace {_items[2].Value ?? "-"} trace {_items[3].Value ?? "-"}");
}
