using System.Text.Json.Serialization;
using Worker.Simulator.Stats;

namespace Worker.Simulator.Json;

/// <summary>Source-generated (reflection-free) serialisation of the OpenAI-style, snake_case bodies.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(ModelListResponse))]
[JsonSerializable(typeof(ModelResponse))]
[JsonSerializable(typeof(SimulatorStatsSnapshot))]
[JsonSerializable(typeof(GenerateRequest))]
internal sealed partial class SnakeCaseJsonContext : JsonSerializerContext;
