using Microsoft.Extensions.Options;

namespace Worker.Simulator.Options;

/// <summary>
/// The models the simulator serves: exactly those <c>GET /v1/models</c> lists (<see cref="SimulatorOptions.Models"/>).
/// Chat requests for any other model are answered 404 <c>model_not_found</c>, as the real API does.
/// </summary>
internal sealed class KnownModels(IOptions<SimulatorOptions> options)
{
    private readonly HashSet<string> _ids = new(options.Value.EffectiveModels, StringComparer.Ordinal);

    public IReadOnlyList<string> Ids { get; } = options.Value.EffectiveModels;

    public bool Contains(string model) => _ids.Contains(model);
}
