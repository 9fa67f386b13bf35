using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Worker.Connector.Ai;

/// <summary>
/// Writes a <c>/v1/chat/completions</c> body from Microsoft.Extensions.AI messages and options, in OpenAI's shapes:
/// assistant tool calls as <c>tool_calls</c>, function results as <c>tool</c> messages with <c>tool_call_id</c>, images
/// as <c>image_url</c> parts, tools as function tools with their JSON schema, the tool mode as <c>tool_choice</c> and
/// the response format as <c>response_format</c> (a schema becomes strict <c>json_schema</c>).
/// </summary>
internal static class ChatRequestWriter
{
    public static byte[] Write(IEnumerable<ChatMessage> messages, ChatOptions? options, string model, bool stream)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model", model);
            json.WriteStartArray("messages");
            if (!string.IsNullOrEmpty(options?.Instructions))
            {
                json.WriteStartObject();
                json.WriteString("role", "system");
                json.WriteString("content", options.Instructions);
                json.WriteEndObject();
            }

            foreach (var message in messages)
            {
                WriteMessage(json, message);
            }

            json.WriteEndArray();
            json.WriteBoolean("stream", stream);
            if (stream)
            {
                json.WriteStartObject("stream_options");
                json.WriteBoolean("include_usage", true);
                json.WriteEndObject();
            }

            if (options is not null)
            {
                WriteOptions(json, options);
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteMessage(Utf8JsonWriter json, ChatMessage message)
    {
        var role = message.Role.Value;
        var calls = message.Contents.OfType<FunctionCallContent>().ToList();
        var results = message.Contents.OfType<FunctionResultContent>().ToList();
        var parts = message.Contents.Where(c => c is TextContent or DataContent or UriContent).ToList();

        // Function results are messages of their own (role tool), one per call answered.
        foreach (var result in results)
        {
            json.WriteStartObject();
            json.WriteString("role", "tool");
            json.WriteString("tool_call_id", result.CallId);
            json.WriteString("content", ResultText(result.Result));
            json.WriteEndObject();
        }

        if (results.Count > 0 && parts.Count == 0 && calls.Count == 0)
        {
            return;
        }

        json.WriteStartObject();
        json.WriteString("role", role);
        if (!string.IsNullOrEmpty(message.AuthorName))
        {
            json.WriteString("name", message.AuthorName);
        }

        json.WritePropertyName("content");
        if (parts.Count == 0)
        {
            // An assistant message that only calls tools has null content; others need a string.
            if (calls.Count > 0)
            {
                json.WriteNullValue();
            }
            else
            {
                json.WriteStringValue(string.Empty);
            }
        }
        else if (parts.All(p => p is TextContent))
        {
            json.WriteStringValue(string.Concat(parts.Cast<TextContent>().Select(t => t.Text)));
        }
        else
        {
            WriteParts(json, parts);
        }

        if (calls.Count > 0)
        {
            json.WriteStartArray("tool_calls");
            foreach (var call in calls)
            {
                json.WriteStartObject();
                json.WriteString("id", call.CallId);
                json.WriteString("type", "function");
                json.WriteStartObject("function");
                json.WriteString("name", call.Name);
                json.WriteString("arguments", JsonSerializer.Serialize(call.Arguments ?? new Dictionary<string, object?>(), AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(IDictionary<string, object?>))));
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        json.WriteEndObject();
    }

    private static void WriteParts(Utf8JsonWriter json, List<AIContent> parts)
    {
        json.WriteStartArray();
        foreach (var part in parts)
        {
            json.WriteStartObject();
            switch (part)
            {
                case TextContent text:
                    json.WriteString("type", "text");
                    json.WriteString("text", text.Text);
                    break;
                case DataContent data:
                    json.WriteString("type", "image_url");
                    json.WriteStartObject("image_url");
                    json.WriteString("url", data.Uri);
                    json.WriteEndObject();
                    break;
                case UriContent uri:
                    json.WriteString("type", "image_url");
                    json.WriteStartObject("image_url");
                    json.WriteString("url", uri.Uri.ToString());
                    json.WriteEndObject();
                    break;
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    private static void WriteOptions(Utf8JsonWriter json, ChatOptions options)
    {
        if (options.Temperature is { } temperature)
        {
            json.WriteNumber("temperature", temperature);
        }

        if (options.TopP is { } topP)
        {
            json.WriteNumber("top_p", topP);
        }

        if (options.MaxOutputTokens is { } maxTokens)
        {
            // max_tokens rather than max_completion_tokens: every OpenAI-compatible server knows it.
            json.WriteNumber("max_tokens", maxTokens);
        }

        if (options.FrequencyPenalty is { } frequency)
        {
            json.WriteNumber("frequency_penalty", frequency);
        }

        if (options.PresencePenalty is { } presence)
        {
            json.WriteNumber("presence_penalty", presence);
        }

        if (options.Seed is { } seed)
        {
            json.WriteNumber("seed", seed);
        }

        if (options.StopSequences is { Count: > 0 } stop)
        {
            json.WriteStartArray("stop");
            foreach (var sequence in stop)
            {
                json.WriteStringValue(sequence);
            }

            json.WriteEndArray();
        }

        var functions = options.Tools?.OfType<AIFunctionDeclaration>().ToList() ?? [];
        if (functions.Count > 0)
        {
            json.WriteStartArray("tools");
            foreach (var function in functions)
            {
                json.WriteStartObject();
                json.WriteString("type", "function");
                json.WriteStartObject("function");
                json.WriteString("name", function.Name);
                if (!string.IsNullOrEmpty(function.Description))
                {
                    json.WriteString("description", function.Description);
                }

                json.WritePropertyName("parameters");
                function.JsonSchema.WriteTo(json);
                json.WriteEndObject();
                json.WriteEndObject();
            }

            json.WriteEndArray();

            switch (options.ToolMode)
            {
                case RequiredChatToolMode { RequiredFunctionName: { } name }:
                    json.WriteStartObject("tool_choice");
                    json.WriteString("type", "function");
                    json.WriteStartObject("function");
                    json.WriteString("name", name);
                    json.WriteEndObject();
                    json.WriteEndObject();
                    break;
                case RequiredChatToolMode:
                    json.WriteString("tool_choice", "required");
                    break;
                case NoneChatToolMode:
                    json.WriteString("tool_choice", "none");
                    break;
                case AutoChatToolMode:
                    json.WriteString("tool_choice", "auto");
                    break;
            }

            if (options.AllowMultipleToolCalls is { } parallel)
            {
                json.WriteBoolean("parallel_tool_calls", parallel);
            }
        }

        switch (options.ResponseFormat)
        {
            case ChatResponseFormatJson { Schema: { } schema } format:
                json.WriteStartObject("response_format");
                json.WriteString("type", "json_schema");
                json.WriteStartObject("json_schema");
                json.WriteString("name", format.SchemaName ?? "response");
                if (!string.IsNullOrEmpty(format.SchemaDescription))
                {
                    json.WriteString("description", format.SchemaDescription);
                }

                json.WritePropertyName("schema");
                schema.WriteTo(json);
                json.WriteBoolean("strict", true);
                json.WriteEndObject();
                json.WriteEndObject();
                break;
            case ChatResponseFormatJson:
                json.WriteStartObject("response_format");
                json.WriteString("type", "json_object");
                json.WriteEndObject();
                break;
        }

        if (options.AdditionalProperties is { Count: > 0 } extra)
        {
            // Any other chat-completions parameter (user, metadata, logit_bias, ...) passes through as it is.
            foreach (var (name, value) in extra)
            {
                json.WritePropertyName(name);
                JsonSerializer.Serialize(json, value, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(object)));
            }
        }
    }

    private static string ResultText(object? result) => result switch
    {
        null => string.Empty,
        string text => text,
        JsonElement element when element.ValueKind == JsonValueKind.String => element.GetString()!,
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => JsonSerializer.Serialize(result, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(object))),
    };
}
