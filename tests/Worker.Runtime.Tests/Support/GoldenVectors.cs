using System.Text.Json;

namespace Worker.Runtime.Tests.Support;

/// <summary>The golden frames file, copied into the test project from shared/vectors (data, not a dependency).</summary>
internal static class GoldenVectors
{
    private static readonly Lazy<IReadOnlyList<JsonElement>> LazyFrames = new(Load);

    public static IReadOnlyList<JsonElement> Frames => LazyFrames.Value;

    public static JsonElement ByRequestId(ulong requestId, int messageType) =>
        Frames.Single(f => f.GetProperty("message_type").GetInt32() == messageType
            && f.GetProperty("decoded").GetProperty("request_id").GetUInt64() == requestId);

    public static byte[] Bytes(JsonElement frame) => Convert.FromHexString(frame.GetProperty("frame_hex").GetString()!);

    private static IReadOnlyList<JsonElement> Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Vectors", "vastar-ipc-frames.json");
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        return document.RootElement.GetProperty("frames").EnumerateArray().Select(e => e.Clone()).ToArray();
    }
}
