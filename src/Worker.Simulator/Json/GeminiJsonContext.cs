using System.Text.Json.Serialization;

namespace Worker.Simulator.Json;

/// <summary>Source-generated serialisation of the camelCase Gemini request.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(GeminiRequest))]
internal sealed partial class GeminiJsonContext : JsonSerializerContext;
