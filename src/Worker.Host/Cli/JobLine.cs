using System.Text;
using System.Text.Json;
using Worker.Host.Contracts;

namespace Worker.Host.Cli;

/// <summary>A job to enqueue: its id (for matching results) and its exact body.</summary>
internal sealed record JobLine(string Id, byte[] Body)
{
    /// <summary>A job in our form from a prompt.</summary>
    public static JobLine FromPrompt(string prompt, string? model, string? tenant, string? id = null)
    {
        id ??= "job-" + Guid.NewGuid().ToString("N")[..12];
        var job = new JobMessage { Id = id, Prompt = prompt, Model = model, Tenant = tenant };
        return new JobLine(id, JsonSerializer.SerializeToUtf8Bytes(job, ContractJsonContext.Relaxed.JobMessage));
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
            return new JobLine(id, Encoding.UTF8.GetBytes(line));
        }
        catch (JsonException ex)
        {
            throw new FormatException($"line {lineNumber}: not JSON ({ex.Message})", ex);
        }
    }
}
