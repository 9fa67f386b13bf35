using System.Text.Json;
using Worker.Connector.OpenAi;

namespace Worker.Host.Contracts;

/// <summary>
/// Reads a job body (our form or a Batch API line) defensively: size first, then JSON with a depth limit, then each
/// field's type. Structural problems make a poison message; readable jobs with bad parameters are "invalid".
/// </summary>
public sealed class JobParser
{
    public const int ContractVersion = 1;
    private const int MaxDepth = 64;
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = MaxDepth };
    private static readonly HashSet<string> Roles = new(StringComparer.Ordinal) { "system", "developer", "user", "assistant", "tool" };

    private readonly int _maxBytes;
    private readonly string _defaultTenant;
    private readonly bool _defaultStream;

    public JobParser(int maxBytes, string defaultTenant, bool defaultStream)
    {
        _maxBytes = maxBytes;
        _defaultTenant = defaultTenant;
        _defaultStream = defaultStream;
    }

    public JobParseResult Parse(ReadOnlyMemory<byte> body)
    {
        if (body.Length > _maxBytes)
        {
            return JobParseResult.Poison($"too_large: body of {body.Length} bytes exceeds Worker:MaxJobBytes ({_maxBytes})");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, DocumentOptions);
        }
        catch (JsonException ex)
        {
            return JobParseResult.Poison($"invalid_json: {ex.Message}");
        }
        catch (ArgumentException ex)
        {
            // Invalid UTF-8 can surface as ArgumentException from the reader.
            return JobParseResult.Poison($"invalid_json: {ex.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return JobParseResult.Poison($"not_an_object: the body is a JSON {root.ValueKind}, not an object");
            }

            try
            {
                return root.TryGetProperty("custom_id", out _) && !root.TryGetProperty("id", out _) ? ParseBatch(root) : ParseNative(root);
            }
            catch (InvalidOperationException ex)
            {
                // JsonDocument checks structure, not string contents: bad UTF-8 or a lone surrogate escape (\ud800)
                // inside a string only shows up when the string is read.
                return JobParseResult.Poison($"invalid_string: {ex.Message}");
            }
            catch (FieldTypeException ex)
            {
                var reason = ex.Message.StartsWith("missing_id", StringComparison.Ordinal) ? ex.Message : $"invalid_field: {ex.Message}";
                return JobParseResult.Poison(reason, ex.Id, ex.Tenant);
            }
        }
    }

    private JobParseResult ParseNative(JsonElement root)
    {
        var id = RequiredId(root, "id");
        var tenant = OptionalString(root, "tenant", id, null) ?? _defaultTenant;
        if (root.TryGetProperty("version", out var version) && !(version.ValueKind == JsonValueKind.Number && version.TryGetInt32(out var v) && v == ContractVersion))
        {
            return JobParseResult.Poison($"unsupported_version: this worker reads job contract version {ContractVersion}", id, tenant);
        }

        var model = OptionalString(root, "model", id, tenant);
        var stream = OptionalBool(root, "stream", id, tenant) ?? _defaultStream;
        var metadata = root.TryGetProperty("metadata", out var meta) && meta.ValueKind != JsonValueKind.Null ? meta.Clone() : (JsonElement?)null;
        var prompt = OptionalString(root, "prompt", id, tenant);
        List<ChatMessage> messages;
        if (root.TryGetProperty("messages", out var list) && list.ValueKind != JsonValueKind.Null)
        {
            var read = ReadMessages(list, id, tenant);
            if (read.Error is not null)
            {
                return JobParseResult.Invalid(read.Error, id, tenant);
            }

            messages = read.Messages!;
            if (prompt is not null)
            {
                messages.Add(ChatMessage.User(prompt));
            }
        }
        else
        {
            messages = prompt is null ? [] : [ChatMessage.User(prompt)];
        }

        if (messages.Count == 0)
        {
            return JobParseResult.Invalid("missing_messages: a job needs 'prompt' or a non-empty 'messages' array", id, tenant);
        }

        double? temperature = null;
        int? maxTokens = null;
        var extras = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (root.TryGetProperty("params", out var parameters) && parameters.ValueKind != JsonValueKind.Null)
        {
            if (parameters.ValueKind != JsonValueKind.Object)
            {
                throw new FieldTypeException("'params' must be an object", id, tenant);
            }

            var error = ReadParameters(parameters, ["temperature", "max_tokens"], id, tenant, extras, out temperature, out maxTokens);
            if (error is not null)
            {
                return JobParseResult.Invalid(error, id, tenant);
            }
        }

        return JobParseResult.Valid(new Job
        {
            Id = id,
            Tenant = tenant,
            Model = model,
            Messages = messages,
            Stream = stream,
            Temperature = temperature,
            MaxTokens = maxTokens,
            Extras = extras,
            Metadata = metadata,
            Form = JobForm.Native,
        });
    }

    private JobParseResult ParseBatch(JsonElement root)
    {
        var id = RequiredId(root, "custom_id");
        var tenant = _defaultTenant;
        var method = OptionalString(root, "method", id, tenant);
        var url = OptionalString(root, "url", id, tenant);
        if (!string.Equals(method, "POST", StringComparison.OrdinalIgnoreCase))
        {
            return JobParseResult.Invalid($"unsupported_method: Batch lines must use POST, not '{method}'", id, tenant);
        }

        if (url is null || !url.TrimEnd('/').EndsWith("/chat/completions", StringComparison.Ordinal))
        {
            return JobParseResult.Invalid($"unsupported_url: only /v1/chat/completions is supported, not '{url}'", id, tenant);
        }

        if (!root.TryGetProperty("body", out var body) || body.ValueKind != JsonValueKind.Object)
        {
            throw new FieldTypeException("'body' must be an object", id, tenant);
        }

        var model = OptionalString(body, "model", id, tenant);
        var stream = OptionalBool(body, "stream", id, tenant) ?? _defaultStream;
        if (!body.TryGetProperty("messages", out var list) || list.ValueKind == JsonValueKind.Null)
        {
            return JobParseResult.Invalid("missing_messages: body.messages is required", id, tenant);
        }

        var read = ReadMessages(list, id, tenant);
        if (read.Error is not null)
        {
            return JobParseResult.Invalid(read.Error, id, tenant);
        }

        if (read.Messages!.Count == 0)
        {
            return JobParseResult.Invalid("missing_messages: body.messages is empty", id, tenant);
        }

        var extras = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        var error = ReadParameters(body, ["temperature", "max_tokens", "model", "messages", "stream", "stream_options"], id, tenant, extras, out var temperature, out var maxTokens);
        if (error is not null)
        {
            return JobParseResult.Invalid(error, id, tenant);
        }

        return JobParseResult.Valid(new Job
        {
            Id = id,
            Tenant = tenant,
            Model = model,
            Messages = read.Messages,
            Stream = stream,
            Temperature = temperature,
            MaxTokens = maxTokens,
            Extras = extras,
            Form = JobForm.Batch,
            CustomId = id,
        });
    }

    private static string? ReadParameters(JsonElement source, string[] typed, string id, string tenant,
        Dictionary<string, JsonElement> extras, out double? temperature, out int? maxTokens)
    {
        temperature = null;
        maxTokens = null;
        if (source.TryGetProperty("temperature", out var t) && t.ValueKind != JsonValueKind.Null)
        {
            if (t.ValueKind != JsonValueKind.Number)
            {
                throw new FieldTypeException("'temperature' must be a number", id, tenant);
            }

            temperature = t.GetDouble();
            if (temperature is < 0 or > 2)
            {
                return $"invalid_parameter: temperature {temperature} is outside [0, 2]";
            }
        }

        var tokens = source.TryGetProperty("max_tokens", out var m) ? m : source.TryGetProperty("max_completion_tokens", out var mc) ? mc : default;
        if (tokens.ValueKind is not JsonValueKind.Undefined and not JsonValueKind.Null)
        {
            if (tokens.ValueKind != JsonValueKind.Number || !tokens.TryGetInt32(out var value))
            {
                throw new FieldTypeException("'max_tokens' must be an integer", id, tenant);
            }

            if (value < 1)
            {
                return $"invalid_parameter: max_tokens {value} must be at least 1";
            }

            maxTokens = value;
        }

        foreach (var property in source.EnumerateObject())
        {
            if (Array.IndexOf(typed, property.Name) < 0 && property.Name != "max_completion_tokens")
            {
                extras[property.Name] = property.Value.Clone();
            }
        }

        return null;
    }

    private static (List<ChatMessage>? Messages, string? Error) ReadMessages(JsonElement list, string id, string tenant)
    {
        if (list.ValueKind != JsonValueKind.Array)
        {
            throw new FieldTypeException("'messages' must be an array", id, tenant);
        }

        var messages = new List<ChatMessage>(list.GetArrayLength());
        var index = 0;
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw new FieldTypeException($"messages[{index}] must be an object", id, tenant);
            }

            if (!item.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
            {
                throw new FieldTypeException($"messages[{index}].role must be a string", id, tenant);
            }

            var roleName = role.GetString()!;
            if (!Roles.Contains(roleName))
            {
                return (null, $"invalid_parameter: messages[{index}].role '{roleName}' is not one of system, developer, user, assistant, tool");
            }

            string? content = null;
            if (item.TryGetProperty("content", out var text))
            {
                content = text.ValueKind switch
                {
                    JsonValueKind.String => text.GetString(),
                    JsonValueKind.Null => null,
                    JsonValueKind.Array => throw new FieldTypeException($"messages[{index}].content arrays (multimodal parts) are not supported; use a string", id, tenant),
                    _ => throw new FieldTypeException($"messages[{index}].content must be a string", id, tenant),
                };
            }

            var name = item.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
            messages.Add(new ChatMessage(roleName, content) { Name = name });
            index++;
        }

        return (messages, null);
    }

    private static string RequiredId(JsonElement root, string field)
    {
        if (!root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            throw new FieldTypeException($"missing_id: '{field}' is required", null, null);
        }

        var id = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!,
            JsonValueKind.Number => value.GetRawText(),
            _ => throw new FieldTypeException($"'{field}' must be a string", null, null),
        };
        if (id.Length is 0 or > 256 || id.Any(char.IsControl))
        {
            throw new FieldTypeException($"'{field}' must be 1 to 256 printable characters", null, null);
        }

        return id;
    }

    private static string? OptionalString(JsonElement root, string field, string? id, string? tenant)
    {
        if (!root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String ? value.GetString() : throw new FieldTypeException($"'{field}' must be a string", id, tenant);
    }

    private static bool? OptionalBool(JsonElement root, string field, string id, string tenant)
    {
        if (!root.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw new FieldTypeException($"'{field}' must be true or false", id, tenant),
        };
    }

    private sealed class FieldTypeException(string message, string? id, string? tenant) : Exception(message)
    {
        public string? Id { get; } = id;
        public string? Tenant { get; } = tenant;
    }
}
