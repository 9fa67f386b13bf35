using System.Text;
using System.Text.Json;
using Worker.Connector.OpenAi;
using Worker.Host.Configuration;

namespace Worker.Host.Contracts;

/// <summary>
/// Reads a job body (our form or a Batch API line) defensively, in three steps: size; the envelope (JSON with a depth
/// limit, an object, its id and tenant); then the source-generated job type, whose every field is checked. Structural
/// problems make a poison message (dead-lettered); readable jobs with bad parameters are answered failed.
/// </summary>
public sealed class JobParser
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = JobContract.MaxDepth };
    private static readonly string[] BatchTypedFields = ["model", "messages", "stream", "stream_options"];

    private readonly int _maxBytes;
    private readonly string _defaultTenant;
    private readonly bool _defaultStream;
    private readonly ParameterPolicy _policy;

    public JobParser(int maxBytes, string defaultTenant, bool defaultStream, ParameterPolicy? policy = null)
    {
        _maxBytes = maxBytes;
        _defaultTenant = defaultTenant;
        _defaultStream = defaultStream;
        _policy = policy ?? ParameterPolicy.Default;
    }

    public JobParseResult Parse(ReadOnlyMemory<byte> body)
    {
        if (body.Length > _maxBytes)
        {
            return JobParseResult.Poison($"too_large: body of {body.Length} bytes exceeds Worker:MaxJobBytes ({_maxBytes})");
        }

        // The readers report malformed input by throwing; these catches are the boundary where that becomes a reason.
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, DocumentOptions);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            return JobParseResult.Poison($"invalid_json: {ex.Message}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return JobParseResult.Poison($"not_an_object: the body is a JSON {root.ValueKind}, not an object");
            }

            var batch = root.TryGetProperty("custom_id", out _) && !root.TryGetProperty("id", out _);
            if (ReadEnvelope(root, batch ? "custom_id" : "id") is { } rejected)
            {
                return rejected;
            }

            var id = ReadString(root, batch ? "custom_id" : "id")!;
            var tenant = batch ? _defaultTenant : ReadString(root, "tenant") ?? _defaultTenant;
            try
            {
                return batch ? ParseBatch(root, id, tenant) : ParseNative(root, id, tenant);
            }
            catch (JsonException ex)
            {
                return JobParseResult.Poison($"invalid_field: '{FieldName(ex.Path)}' has the wrong type or shape", id, tenant);
            }
            catch (InvalidOperationException ex)
            {
                // JsonDocument checks structure, not string contents: bad UTF-8 or a lone surrogate escape (\ud800)
                // inside a string only shows up when the string is read.
                return JobParseResult.Poison($"invalid_string: {ex.Message}", id, tenant);
            }
        }
    }

    /// <summary>Checks id and tenant; null when both are usable.</summary>
    private JobParseResult? ReadEnvelope(JsonElement root, string idField)
    {
        if (!root.TryGetProperty(idField, out var idValue) || idValue.ValueKind == JsonValueKind.Null)
        {
            return JobParseResult.Poison($"missing_id: '{idField}' is required");
        }

        if (idValue.ValueKind is not (JsonValueKind.String or JsonValueKind.Number))
        {
            return JobParseResult.Poison($"invalid_field: '{idField}' must be a string");
        }

        if (!JobFields.TryReadText(idValue, out var id) || id.Length == 0 || Encoding.UTF8.GetByteCount(id) > JobContract.MaxIdBytes || !SafeText.IsPrintable(id))
        {
            return JobParseResult.Poison($"invalid_field: '{idField}' must be 1 to {JobContract.MaxIdBytes} UTF-8 bytes of printable characters");
        }

        if (root.TryGetProperty("tenant", out var tenantValue) && tenantValue.ValueKind != JsonValueKind.Null && idField == "id")
        {
            if (tenantValue.ValueKind != JsonValueKind.String)
            {
                return JobParseResult.Poison("invalid_field: 'tenant' must be a string", id, _defaultTenant);
            }

            if (!JobFields.TryReadText(tenantValue, out var tenant) || tenant.Length is 0 or > JobContract.MaxTenantLength || !SafeText.IsPrintable(tenant))
            {
                return JobParseResult.Poison($"invalid_field: 'tenant' must be 1 to {JobContract.MaxTenantLength} printable characters", id, _defaultTenant);
            }
        }

        return null;
    }

    private JobParseResult ParseNative(JsonElement root, string id, string tenant)
    {
        if (root.TryGetProperty("version", out var version) && !(version.ValueKind == JsonValueKind.Number && version.TryGetInt32(out var v) && v == JobContract.Version))
        {
            return JobParseResult.Poison($"unsupported_version: this worker reads job contract version {JobContract.Version}", id, tenant);
        }

        var document = root.Deserialize(ContractJsonContext.Default.JobMessage)!;
        var messages = new List<ChatMessage>();
        if (document.Messages is not null && JobFields.ReadMessages(document.Messages, messages, id, tenant) is { } messageError)
        {
            return messageError;
        }

        if (document.Prompt is not null)
        {
            messages.Add(ChatMessage.User(document.Prompt));
        }

        if (messages.Count == 0)
        {
            return JobParseResult.Invalid("missing_messages: a job needs 'prompt' or a non-empty 'messages' array", id, tenant);
        }

        var parameters = new JobParameters();
        if (document.Params is not null && JobFields.ReadParameters(document.Params, [], _policy, parameters, id, tenant) is { } parameterError)
        {
            return parameterError;
        }

        if (document.Deadline is not null && document.TtlSeconds is not null)
        {
            return JobParseResult.Invalid("invalid_parameter: give 'deadline' or 'ttl_seconds', not both", id, tenant);
        }

        if (document.TtlSeconds is { } ttl && (!double.IsFinite(ttl) || ttl <= 0 || ttl > JobContract.MaxTtl.TotalSeconds))
        {
            return JobParseResult.Invalid($"invalid_parameter: ttl_seconds must be in (0, {JobContract.MaxTtl.TotalSeconds}]", id, tenant);
        }

        if (document.Endpoint is not null && !Configuration.LlmHostOptions.IsEndpointName(document.Endpoint))
        {
            return JobParseResult.Invalid("invalid_parameter: endpoint must be 1 to 64 letters, digits, '-', '_' or '.'", id, tenant);
        }

        var valid = Valid(id, tenant, document.Model, document.Stream, messages, parameters, document.Metadata, JobForm.Native);
        return valid.Job is null ? valid : JobParseResult.Valid(valid.Job with
        {
            Deadline = document.Deadline,
            Ttl = document.TtlSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
            Deltas = document.Deltas,
            Endpoint = document.Endpoint,
        });
    }

    private JobParseResult ParseBatch(JsonElement root, string id, string tenant)
    {
        var line = root.Deserialize(ContractJsonContext.Default.BatchLineDocument)!;
        if (!string.Equals(line.Method, "POST", StringComparison.OrdinalIgnoreCase))
        {
            return JobParseResult.Invalid($"unsupported_method: Batch lines must use POST, not '{line.Method}'", id, tenant);
        }

        if (line.Url is null || !line.Url.TrimEnd('/').EndsWith("/chat/completions", StringComparison.Ordinal))
        {
            return JobParseResult.Invalid($"unsupported_url: only /v1/chat/completions is supported, not '{line.Url}'", id, tenant);
        }

        if (line.Body is null)
        {
            return JobParseResult.Poison("invalid_field: 'body' must be an object", id, tenant);
        }

        var body = root.GetProperty("body").Deserialize(ContractJsonContext.Default.BatchBodyDocument)!;
        if (body.Messages is null)
        {
            return JobParseResult.Invalid("missing_messages: body.messages is required", id, tenant);
        }

        var messages = new List<ChatMessage>(body.Messages.Count);
        if (JobFields.ReadMessages(body.Messages, messages, id, tenant) is { } messageError)
        {
            return messageError;
        }

        if (messages.Count == 0)
        {
            return JobParseResult.Invalid("missing_messages: body.messages is empty", id, tenant);
        }

        var parameters = new JobParameters();
        if (JobFields.ReadParameters(line.Body, BatchTypedFields, _policy, parameters, id, tenant) is { } parameterError)
        {
            return parameterError;
        }

        return Valid(id, tenant, body.Model, body.Stream, messages, parameters, null, JobForm.Batch);
    }

    private JobParseResult Valid(string id, string tenant, string? model, bool? stream, List<ChatMessage> messages, JobParameters parameters, JsonElement? metadata, JobForm form)
    {
        if (model is not null && (model.Length is 0 or > JobContract.MaxModelLength || !SafeText.IsPrintable(model)))
        {
            return JobParseResult.Invalid($"invalid_parameter: model must be 1 to {JobContract.MaxModelLength} printable characters", id, tenant);
        }

        return JobParseResult.Valid(new Job
        {
            Id = id,
            Tenant = tenant,
            Form = form,
            CustomId = form == JobForm.Batch ? id : null,
            Metadata = metadata is { ValueKind: not JsonValueKind.Null } ? metadata.Value.Clone() : null,
            Request = new ChatCompletionRequest
            {
                Model = model,
                Messages = messages,
                Stream = stream ?? _defaultStream,
                Temperature = parameters.Temperature,
                MaxTokens = parameters.MaxTokens,
                ExtraParameters = parameters.Extras.Count == 0 ? null : parameters.Extras,
                TenantId = tenant,
            },
        });
    }

    private static string? ReadString(JsonElement root, string field) =>
        root.TryGetProperty(field, out var value) && JobFields.TryReadText(value, out var text) ? text : null;

    private static string FieldName(string? path) => string.IsNullOrEmpty(path) ? "$" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path;
}
