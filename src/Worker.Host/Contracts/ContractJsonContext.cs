using System.Text.Json;
using System.Text.Json.Serialization;

namespace Worker.Host.Contracts;

/// <summary>
/// Source-generated serialization of every contract type. The relaxed encoder writes text as it is (no \u002B for
/// "+" in dates, no \uXXXX for non-ASCII): still valid JSON, and results are never embedded in HTML.
/// </summary>
[JsonSourceGenerationOptions(AllowTrailingCommas = false, ReadCommentHandling = JsonCommentHandling.Disallow, MaxDepth = JobContract.MaxDepth)]
[JsonSerializable(typeof(JobMessage))]
[JsonSerializable(typeof(BatchLineDocument))]
[JsonSerializable(typeof(BatchBodyDocument))]
[JsonSerializable(typeof(JobResult))]
[JsonSerializable(typeof(BatchOutputLine))]
[JsonSerializable(typeof(CompletionBody))]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(JobDelta))]
[JsonSerializable(typeof(CancelRequest))]
public sealed partial class ContractJsonContext : JsonSerializerContext
{
    /// <summary>The context results are written with.</summary>
    public static ContractJsonContext Relaxed { get; } = new(new JsonSerializerOptions
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        MaxDepth = JobContract.MaxDepth,
    });
}
