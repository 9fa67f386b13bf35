using System.Text.Json;
using Worker.Connector.OpenAi;

namespace Worker.Host.Contracts;

/// <summary>
/// Writes and reads results with <see cref="ContractJsonContext"/>: our form (<see cref="JobResult"/>), or for
/// Batch-form jobs when configured, the OpenAI Batch output form (<see cref="BatchOutputLine"/>). The one place that
/// knows the result's JSON: the publisher, the CLI, the tools and the tests all go through it.
/// </summary>
public static class ResultSerializer
{
    public static byte[] Serialize(JobResult result, bool batchOutputForm)
    {
        ArgumentNullException.ThrowIfNull(result);
        return batchOutputForm && result.Form == JobForm.Batch
            ? JsonSerializer.SerializeToUtf8Bytes(ToBatchLine(result), ContractJsonContext.Relaxed.BatchOutputLine)
            : JsonSerializer.SerializeToUtf8Bytes(result, ContractJsonContext.Relaxed.JobResult);
    }

    /// <summary>Reads a result in either form; false when the body is neither.</summary>
    public static bool TryRead(ReadOnlySpan<byte> utf8, out JobResult? result, out BatchOutputLine? batchLine)
    {
        result = null;
        batchLine = null;
        try
        {
            using var document = JsonDocument.Parse(utf8.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return false;
            }

            if (root.TryGetProperty("status", out _))
            {
                result = root.Deserialize(ContractJsonContext.Relaxed.JobResult);
            }
            else
            {
                batchLine = root.Deserialize(ContractJsonContext.Relaxed.BatchOutputLine);
            }

            return result is not null || batchLine is not null;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public static byte[] Serialize(JobDelta delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        return JsonSerializer.SerializeToUtf8Bytes(delta, ContractJsonContext.Relaxed.JobDelta);
    }

    /// <summary>Reads a delta (routing key <see cref="JobDelta.RoutingKey"/>); false when the body is not one.</summary>
    public static bool TryReadDelta(ReadOnlySpan<byte> utf8, out JobDelta? delta)
    {
        delta = null;
        try
        {
            var reader = new Utf8JsonReader(utf8);
            delta = JsonSerializer.Deserialize(ref reader, ContractJsonContext.Relaxed.JobDelta);
            return delta is not null;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public static BatchOutputLine ToBatchLine(JobResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var id = "batch_req_" + Guid.NewGuid().ToString("N");
        var customId = result.CustomId ?? result.Id;
        if (result.Completion is { } completion)
        {
            // The upstream's own body when it answered JSON (nothing dropped); a streamed answer is rebuilt.
            var body = completion.JsonBody.IsEmpty
                ? JsonSerializer.SerializeToElement(ToBody(completion, result.Model), ContractJsonContext.Relaxed.CompletionBody)
                : JsonElement.Parse(completion.JsonBody.Span);
            return new BatchOutputLine { Id = id, CustomId = customId, Response = new BatchResponse(200, completion.RequestId ?? completion.Id ?? result.Id, body) };
        }

        var error = result.Error ?? new JobError("Permanent", "unknown failure", null, false);
        var response = error.StatusCode is { } status
            ? new BatchResponse(status, result.Id, JsonSerializer.SerializeToElement(new ErrorBody(new ErrorDetail(error.Message, error.Class)), ContractJsonContext.Relaxed.ErrorBody))
            : null;
        return new BatchOutputLine { Id = id, CustomId = customId, Response = response, Error = new BatchError(error.Class, error.Message) };
    }

    private static CompletionBody ToBody(ChatCompletion completion, string? model) => new(
        completion.Id,
        "chat.completion",
        completion.Created ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        completion.Model ?? model,
        completion.SystemFingerprint,
        [.. completion.Choices.Select(choice => new CompletionChoiceBody(
            choice.Index,
            new CompletionMessageBody(choice.Role, choice.Content, choice.Refusal, choice.ToolCalls.Count == 0 ? null :
                [.. choice.ToolCalls.Select(call => new ToolCallBody(call.Id, call.Type ?? "function", new FunctionCallBody(call.FunctionName, call.Arguments)))]),
            choice.FinishReason))],
        TokenUsage.From(completion.Usage));
}
