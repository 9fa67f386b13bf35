using Worker.Simulator.Faults;
using Worker.Simulator.Latency;

namespace Worker.Simulator.Http;

/// <summary>What the X-Sim-* headers of one request ask for (merged with the configured defaults).</summary>
/// <param name="Latency">Latency model of this request.</param>
/// <param name="Fault">The fault the X-Sim-Fault header forces, or null to draw one at random.</param>
/// <param name="Tokens">Answer length from X-Sim-Tokens, or null.</param>
internal readonly record struct SimDirectives(LatencyProfile Latency, FaultPlan? Fault, int? Tokens);
