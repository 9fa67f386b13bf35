using System.Text.Json;
using Worker.Simulator.Http;

namespace Worker.Simulator.Json;

/// <summary>
/// Validates <c>tools</c>, <c>tool_choice</c> and <c>response_format</c> the way the real API words its 400s. These are
/// small and rare compared with messages, so they are read as <see cref="JsonElement"/>s (the schemas must be kept
/// anyway to generate arguments and answers from them).
/// </summary>
internal static class ToolRules
{
    public static List<ToolFunction>? ReadTools(JsonElement tools)
    {
        if (tools.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (tools.ValueKind != JsonValueKind.Array)
        {
            throw JsonValueRules.InvalidType("tools", "an array of objects", Describe(tools));
        }

        var result = new List<ToolFunction>();
        var index = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            var at = $"tools[{index}]";
            if (tool.ValueKind != JsonValueKind.Object)
            {
                throw JsonValueRules.InvalidType(at, "an object", Describe(tool));
            }

            var type = RequiredString(tool, "type", at);
            if (type != "function")
            {
                throw new RequestValidationException(ApiError.InvalidRequest(
                    $"Invalid value: '{type}'. Supported values are: 'function' and 'custom'.", $"{at}.type", "invalid_value"));
            }

            if (!tool.TryGetProperty("function", out var function) || function.ValueKind == JsonValueKind.Null)
            {
                throw JsonValueRules.Missing($"{at}.function");
            }

            if (function.ValueKind != JsonValueKind.Object)
            {
                throw JsonValueRules.InvalidType($"{at}.function", "an object", Describe(function));
            }

            var name = RequiredString(function, "name", $"{at}.function");
            JsonElement? parameters = null;
            if (function.TryGetProperty("parameters", out var schema) && schema.ValueKind != JsonValueKind.Null)
            {
                if (schema.ValueKind != JsonValueKind.Object)
                {
                    throw JsonValueRules.InvalidType($"{at}.function.parameters", "an object", Describe(schema));
                }

                parameters = schema;
            }

            result.Add(new ToolFunction(name, parameters));
            index++;
        }

        return result;
    }

    public static (ToolChoiceMode Mode, string? Name) ReadToolChoice(JsonElement? choice, List<ToolFunction>? tools)
    {
        if (choice is not { } value || value.ValueKind == JsonValueKind.Null)
        {
            return (tools is { Count: > 0 } ? ToolChoiceMode.Auto : ToolChoiceMode.None, null);
        }

        if (tools is not { Count: > 0 })
        {
            throw new RequestValidationException(ApiError.InvalidRequest(
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", "tool_choice", null));
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            return value.GetString() switch
            {
                "auto" => (ToolChoiceMode.Auto, null),
                "none" => (ToolChoiceMode.None, null),
                "required" => (ToolChoiceMode.Required, null),
                var other => throw new RequestValidationException(ApiError.InvalidRequest(
                    $"Invalid value: '{other}'. Supported values are: 'none', 'auto', and 'required'.", "tool_choice", "invalid_value")),
            };
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw JsonValueRules.InvalidType("tool_choice", "one of a string or object", Describe(value));
        }

        var type = RequiredString(value, "type", "tool_choice");
        if (type != "function")
        {
            throw new RequestValidationException(ApiError.InvalidRequest(
                $"Invalid value: '{type}'. Supported values are: 'function', 'allowed_tools', and 'custom'.", "tool_choice.type", "invalid_value"));
        }

        if (!value.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
        {
            throw JsonValueRules.Missing("tool_choice.function");
        }

        var name = RequiredString(function, "name", "tool_choice.function");
        if (!tools.Exists(tool => tool.Name == name))
        {
            throw new RequestValidationException(ApiError.InvalidRequest(
                $"Invalid value for 'tool_choice': tool choice '{name}' not found in 'tools' parameter.", "tool_choice", "invalid_value"));
        }

        return (ToolChoiceMode.Named, name);
    }

    public static (ResponseFormatMode Mode, JsonElement? Schema) ReadResponseFormat(JsonElement? format)
    {
        if (format is not { } value || value.ValueKind == JsonValueKind.Null)
        {
            return (ResponseFormatMode.Text, null);
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw JsonValueRules.InvalidType("response_format", "an object", Describe(value));
        }

        var type = RequiredString(value, "type", "response_format");
        switch (type)
        {
            case "text":
                return (ResponseFormatMode.Text, null);
            case "json_object":
                return (ResponseFormatMode.JsonObject, null);
            case "json_schema":
                break;
            default:
                throw new RequestValidationException(ApiError.InvalidRequest(
                    $"Invalid value: '{type}'. Supported values are: 'json_object', 'json_schema', and 'text'.", "response_format.type", "invalid_value"));
        }

        if (!value.TryGetProperty("json_schema", out var jsonSchema) || jsonSchema.ValueKind == JsonValueKind.Null)
        {
            throw JsonValueRules.Missing("response_format.json_schema");
        }

        if (jsonSchema.ValueKind != JsonValueKind.Object)
        {
            throw JsonValueRules.InvalidType("response_format.json_schema", "an object", Describe(jsonSchema));
        }

        RequiredString(jsonSchema, "name", "response_format.json_schema");
        if (jsonSchema.TryGetProperty("schema", out var schema) && schema.ValueKind != JsonValueKind.Null)
        {
            if (schema.ValueKind != JsonValueKind.Object)
            {
                throw JsonValueRules.InvalidType("response_format.json_schema.schema", "an object", Describe(schema));
            }

            return (ResponseFormatMode.JsonSchema, schema);
        }

        // No schema: any JSON object is valid.
        return (ResponseFormatMode.JsonObject, null);
    }

    private static string RequiredString(JsonElement parent, string property, string at)
    {
        if (!parent.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            throw JsonValueRules.Missing($"{at}.{property}");
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw JsonValueRules.InvalidType($"{at}.{property}", "a string", Describe(value));
        }

        return value.GetString()!;
    }

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => value.TryGetInt64(out _) ? "an integer" : "a decimal",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => "an unexpected value",
    };
}
