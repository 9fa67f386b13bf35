using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Worker.Connector.OpenAi;

namespace Worker.Host.Contracts;

/// <summary>
/// Writes results as JSON: our form (<c>{"id","status",...}</c>), or for Batch-form jobs when configured, the
/// OpenAI Batch output form (<c>{"id","custom_id","response":{"status_code","request_id","body"},"error"}</c>).
/// </summary>
public static class ResultSerializer
{
    public static byte[] Serialize(JobResult result, bool batchOutputForm)
    {
        ArgumentNullException.ThrowIfNull(result);
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            if (batchOutputForm && result.Form == JobForm.Batch)
            {
                WriteBatch(json, result);
            }
            else
            {
                WriteNative(json, result);
            }
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteNative(Utf8JsonWriter json, JobResult result)
    {
        json.WriteStartObject();
        json.WriteNumber("version", JobParser.ContractVersion);
        json.WriteString("id", result.Id);
        if (result.CustomId is not null)
        {
            json.WriteString("custom_id", result.CustomId);
        }

        json.WriteString("status", result.Status);
        json.WriteString("tenant", result.Tenant);
        WriteNullableString(json, "model", result.Model);
        WriteNullableString(json, "content", result.Content);
        WriteNullableString(json, "finish_reason", result.FinishReason);
        WriteUsage(json, result.Usage);

        json.WriteNumber("attempts", result.Attempts);
        json.WriteBoolean("redelivered", result.Redelivered);
        json.WriteNumber("duration_ms", result.DurationMs);
        json.WriteString("completed_at", result.CompletedAt.ToString("O", CultureInfo.InvariantCulture));
        json.WritePropertyName("metadata");
        if (result.Metadata is { } metadata)
        {
            metadata.WriteTo(json);
        }
        else
        {
            json.WriteNullValue();
        }

        if (result.Error is { } error)
        {
            json.WriteStartObject("error");
            json.WriteString("class", error.Class);
            json.WriteString("message", error.Message);
            if (error.StatusCode is { } status)
            {
                json.WriteNumber("status_code", status);
            }
            else
            {
                json.WriteNull("status_code");
            }

            json.WriteBoolean("retryable", error.Retryable);
            json.WriteEndObject();
        }
        else
        {
            json.WriteNull("error");
        }

        json.WriteEndObject();
    }

    private static void WriteBatch(Utf8JsonWriter json, JobResult result)
    {
        json.WriteStartObject();
        json.WriteString("id", "batch_req_" + Guid.NewGuid().ToString("N"));
        json.WriteString("custom_id", result.CustomId ?? result.Id);
        if (result.Completion is { } completion)
        {
            json.WriteStartObject("response");
            json.WriteNumber("status_code", 200);
            json.WriteString("request_id", completion.Id ?? result.Id);
            json.WritePropertyName("body");
            WriteCompletionObject(json, completion, result.Model);
            json.WriteEndObject();
            json.WriteNull("error");
        }
        else
        {
            var error = result.Error ?? new JobError("Permanent", "unknown failure", null, false);
            if (error.StatusCode is { } status)
            {
                json.WriteStartObject("response");
                json.WriteNumber("status_code", status);
                json.WriteString("request_id", result.Id);
                json.WriteStartObject("body");
                json.WriteStartObject("error");
                json.WriteString("message", error.Message);
                json.WriteString("type", error.Class);
                json.WriteEndObject();
                json.WriteEndObject();
                json.WriteEndObject();
            }
            else
            {
                json.WriteNull("response");
            }

            json.WriteStartObject("error");
            json.WriteString("code", error.Class);
            json.WriteString("message", error.Message);
            json.WriteEndObject();
        }

        json.WriteEndObject();
    }

    /// <summary>A <c>chat.completion</c> object rebuilt from the accumulated completion.</summary>
    private static void WriteCompletionObject(Utf8JsonWriter json, ChatCompletion completion, string? model)
    {
        json.WriteStartObject();
        WriteNullableString(json, "id", completion.Id);
        json.WriteString("object", "chat.completion");
        json.WriteNumber("created", completion.Created ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        WriteNullableString(json, "model", completion.Model ?? model);
        json.WriteStartArray("choices");
        foreach (var choice in completion.Choices)
        {
            json.WriteStartObject();
            json.WriteNumber("index", choice.Index);
            json.WriteStartObject("message");
            json.WriteString("role", choice.Role);
            WriteNullableString(json, "content", choice.Content);
            WriteNullableString(json, "refusal", choice.Refusal);
            if (choice.ToolCalls.Count > 0)
            {
                json.WriteStartArray("tool_calls");
                foreach (var call in choice.ToolCalls)
                {
                    json.WriteStartObject();
                    WriteNullableString(json, "id", call.Id);
                    json.WriteString("type", call.Type ?? "function");
                    json.WriteStartObject("function");
                    WriteNullableString(json, "name", call.FunctionName);
                    json.WriteString("arguments", call.Arguments);
                    json.WriteEndObject();
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            json.WriteEndObject();
            WriteNullableString(json, "finish_reason", choice.FinishReason);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        WriteUsage(json, completion.Usage);

        json.WriteEndObject();
    }

    private static void WriteUsage(Utf8JsonWriter json, ChatUsage? usage)
    {
        if (usage is null)
        {
            json.WriteNull("usage");
            return;
        }

        json.WriteStartObject("usage");
        json.WriteNumber("prompt_tokens", usage.PromptTokens);
        json.WriteNumber("completion_tokens", usage.CompletionTokens);
        json.WriteNumber("total_tokens", usage.TotalTokens);
        json.WriteEndObject();
    }

    private static void WriteNullableString(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }
}
