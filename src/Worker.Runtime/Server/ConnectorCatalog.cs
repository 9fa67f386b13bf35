using System.Collections.Frozen;
using Worker.Runtime.Diagnostics;

namespace Worker.Runtime.Server;

/// <summary>The connector operations this runtime serves, looked up by the request's connector_name and operation.</summary>
internal sealed class ConnectorCatalog
{
    private readonly FrozenDictionary<string, FrozenDictionary<string, IConnectorOperation>> _connectors;

    public ConnectorCatalog(IEnumerable<IConnectorOperation> operations)
    {
        _connectors = operations
            .GroupBy(o => o.Connector, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => g.ToFrozenDictionary(o => o.Operation, StringComparer.Ordinal), StringComparer.Ordinal);
    }

    /// <summary>Finds the operation, or says (for an InvalidRequest answer) which name is unknown and what is served.</summary>
    public bool TryResolve(string connector, string operation, out IConnectorOperation? handler, out string error)
    {
        handler = null;
        if (!_connectors.TryGetValue(connector, out var operations))
        {
            error = $"Unknown connector '{LogText.Clip(connector)}' (this runtime serves: {string.Join(", ", _connectors.Keys.Order(StringComparer.Ordinal))}).";
            return false;
        }

        if (!operations.TryGetValue(operation, out handler))
        {
            error = $"Unknown operation '{LogText.Clip(operation)}' for connector '{connector}' (supported: {string.Join(", ", operations.Keys.Order(StringComparer.Ordinal))}).";
            return false;
        }

        error = string.Empty;
        return true;
    }
}
