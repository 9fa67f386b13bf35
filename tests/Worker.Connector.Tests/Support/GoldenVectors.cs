using System.Text.Json;

namespace Worker.Connector.Tests;

/// <summary>The golden frames file, copied into the test project from shared/vectors (data, not a dependency).</summary>
internal static class GoldenVectors
{
    private static readonly Lazy<IReadOnlyList<JsonElement>> LazyFrames = new(Load);

    public static IReadOnlyList<JsonElement> Frames => LazyFrames.Value;

    public static JsonElement ByName(string name) => Frames.Single(f => f.GetProperty("name").GetString() == name);

    private static IReadOnlyList<JsonElement> Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Vectors", "vastar-ipc-frames.json");
        if (!File.Exists(path))
        {
            throw new FileNotFoundException("Golden vectors missing from the test output (tests/Worker.Connector.Tests/Vectors).", path);
        }

        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        return document.RootElement.GetProperty("frames").EnumerateArray().Select(e => e.Clone()).ToArray();
    }
}
