using System.Text.Json;
using Worker.Connector.OpenAi;
using Worker.Host.Configuration;

namespace Worker.Host.Contracts;

/// <summary>The field-level checks of <see cref="JobParser"/>: messages, parameters (against the policy), and text values.</summary>
internal static class JobFields
{
    private static readonly HashSet<string> Roles = new(StringComparer.Ordinal) { "system", "developer", "user", "assistant", "tool" };

    public static JobParseResult? ReadMessages(List<MessageDocument> source, List<ChatMessage> messages, string id, string tenant)
    {
        for (var index = 0; index < source.Count; index++)
        {
            if (source[index] is not { } item)
            {
                return JobParseResult.Poison($"invalid_field: messages[{index}] must be an object", id, tenant);
            }

            if (!Roles.Contains(item.Role))
            {
                return JobParseResult.Invalid($"invalid_parameter: messages[{index}].role '{item.Role}' is not one of system, developer, user, assistant, tool", id, tenant);
            }

            string? content = null;
            switch (item.Content?.ValueKind)
            {
                case null or JsonValueKind.Null:
                    break;
                case JsonValueKind.String:
                    content = item.Content.Value.GetString();
                    break;
                case JsonValueKind.Array:
                    return JobParseResult.Poison($"invalid_field: messages[{index}].content arrays (multimodal parts) are not supported; use a string", id, tenant);
                default:
                    return JobParseResult.Poison($"invalid_field: messages[{index}].content must be a string", id, tenant);
            }

            var name = item.Name is { ValueKind: JsonValueKind.String } n ? n.GetString() : null;
            messages.Add(new ChatMessage(item.Role, content) { Name = name });
        }

        return null;
    }

    public static JobParseResult? ReadParameters(Dictionary<string, JsonElement> source, string[] typed, ParameterPolicy policy, JobParameters parameters, string id, string tenant)
    {
        foreach (var (name, value) in source)
        {
            switch (name)
            {
                case "temperature":
                    if (value.ValueKind == JsonValueKind.Null)
                    {
                        break;
                    }

                    if (value.ValueKind != JsonValueKind.Number)
                    {
                        return JobParseResult.Poison("invalid_field: 'temperature' must be a number", id, tenant);
                    }

                    parameters.Temperature = value.GetDouble();
                    if (parameters.Temperature is < 0 or > 2)
                    {
                        return JobParseResult.Invalid($"invalid_parameter: temperature {parameters.Temperature} is outside [0, 2]", id, tenant);
                    }

                    break;
                case "max_tokens" or "max_completion_tokens":
                    if (value.ValueKind == JsonValueKind.Null || (name == "max_completion_tokens" && parameters.MaxTokens is not null))
                    {
                        break;
                    }

                    if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var tokens))
                    {
                        return JobParseResult.Poison($"invalid_field: '{name}' must be an integer", id, tenant);
                    }

                    if (tokens < 1 || tokens > policy.MaxOutputTokens)
                    {
                        return JobParseResult.Invalid($"invalid_parameter: {name} {tokens} is outside [1, {policy.MaxOutputTokens}] (Llm:Parameters:MaxOutputTokens)", id, tenant);
                    }

                    parameters.MaxTokens = tokens;
                    break;
                case "n" when value.ValueKind != JsonValueKind.Null:
                    if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var choices) || choices < 1 || choices > policy.MaxChoices)
                    {
                        return JobParseResult.Invalid($"invalid_parameter: n must be an integer in [1, {policy.MaxChoices}] (Llm:Parameters:MaxChoices)", id, tenant);
                    }

                    parameters.Extras[name] = value.Clone();
                    break;
                default:
                    if (Array.IndexOf(typed, name) >= 0)
                    {
                        break;
                    }

                    if (policy.Refuse(name) is { } refused)
                    {
                        return JobParseResult.Invalid(refused, id, tenant);
                    }

                    parameters.Extras[name] = value.Clone();
                    break;
            }
        }

        return null;
    }

    /// <summary>A string's value or a number's digits; false for other kinds and for strings that are not valid UTF-16 (lone surrogates).</summary>
    public static bool TryReadText(JsonElement value, out string text)
    {
        text = "";
        switch (value.ValueKind)
        {
            case JsonValueKind.Number:
                text = value.GetRawText();
                return true;
            case JsonValueKind.String:
                // GetString throws on invalid UTF-8 and lone surrogates: the only way the reader reports them.
                try
                {
                    text = value.GetString()!;
                    return true;
                }
                catch (InvalidOperationException)
                {
                    return false;
                }

            default:
                return false;
        }
    }
}

/// <summary>The typed parameters of a job and its pass-through extras.</summary>
internal sealed class JobParameters
{
    public double? Temperature { get; set; }
    public int? MaxTokens { get; set; }
    public Dictionary<string, JsonElement> Extras { get; } = new(StringComparer.Ordinal);
}
