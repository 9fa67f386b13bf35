using System.Text.Json;

namespace Worker.Simulator.Json;

/// <summary>One <c>tools[i]</c> of type function: its name and JSON schema parameters (null when none were given).</summary>
internal sealed record ToolFunction(string Name, JsonElement? Parameters);

/// <summary>What <c>tool_choice</c> asks for.</summary>
internal enum ToolChoiceMode
{
    /// <summary>Default when tools are given: the simulator's deterministic rule decides (see <c>ToolCallDecision</c>).</summary>
    Auto,

    /// <summary>Never call a tool.</summary>
    None,

    /// <summary>Must call a tool.</summary>
    Required,

    /// <summary>Must call the named function.</summary>
    Named,
}

/// <summary>What <c>response_format</c> asks for.</summary>
internal enum ResponseFormatMode
{
    Text,
    JsonObject,
    JsonSchema,
}
