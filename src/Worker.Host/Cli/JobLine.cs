using System.Text;
using System.Text.Json;
using Worker.Host.Contracts;

namespace Worker.Host.Cli;

/// <summary>A job to enqueue: its id (for matching results), its exact body, and its question (the last user message) for display.</summary>
internal sealed record JobLine(string Id, byte[] Body, string? Question = null)
{
    /// <summary>A job in our form from a prompt.</summary>
    public static JobLine FromPrompt(string prompt, string? model, string? tenant, string? id = null, string? endpoint = null)
    {
        id ??= "job-" + Guid.NewGuid().ToString("N")[..12];
        var job = new JobMessage { Id = id, Prompt = prompt, Model = model, Tenant = tenant, Endpoint = endpoint };
        return new JobLine(id, JsonSerializer.SerializeToUtf8Bytes(job, ContractJsonContext.Relaxed.JobMessage), prompt);
    }

    /// <summary>One line of a JSONL file in our form (<c>id</c>) or Batch form (<c>custom_id</c>), sent unchanged.</summary>
    public static JobLine FromFileLine(string line, int lineNumber)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            var id = root.ValueKind == JsonValueKind.Object && (root.TryGetProperty("id", out var value) || root.TryGetProperty("custom_id", out value))
                && value.ValueKind == JsonValueKind.String
                ? value.GetString()!
                : throw new FormatException($"line {lineNumber}: no string 'id' or 'custom_id'");
            return new JobLine(id, Encoding.UTF8.GetBytes(line), ReadQuestion(root));
        }
        catch (JsonException ex)
        {
            throw new FormatException($"line {lineNumber}: not JSON ({ex.Message})", ex);
        }
    }

    /// <summary>The prompt, or the last user message (our form or a Batch line's body).</summary>
    private static string? ReadQuestion(JsonElement root)
    {
        if (root.TryGetProperty("prompt", out var prompt) && prompt.ValueKind == JsonValueKind.String)
        {
            return prompt.GetString();
        }

        var holder = root.TryGetProperty("body", out var body) && body.ValueKind == JsonValueKind.Object ? body : root;
        if (!holder.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        return messages.EnumerateArray()
            .Where(m => m.ValueKind == JsonValueKind.Object && m.TryGetProperty("role", out var role) && role.ValueEquals("user")
                && m.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String)
            .Select(m => m.GetProperty("content").GetString())
            .LastOrDefault();
    }
}
