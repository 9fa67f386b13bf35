using System.ClientModel;
using System.ClientModel.Primitives;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;
using Worker.Simulator.Options;

namespace Worker.Simulator.Conformance;

/// <summary>Official OpenAI SDK clients pointed at a simulator, with SDK retries off unless a test asks for them.</summary>
internal static class Sdk
{
    public const string Model = "gpt-4o-mini";
    public const string ApiKey = "sk-conformance-test-key";

    public static Task<SimulatorServer> StartSimulatorAsync(SimulatorOptions? options = null) =>
        SimulatorServer.StartAsync(options ?? new SimulatorOptions { ApiKey = ApiKey });

    public static OpenAIClientOptions Options(SimulatorServer sim, int maxRetries = 0, params (string Name, string Value)[] headers)
    {
        var options = new OpenAIClientOptions
        {
            Endpoint = new Uri(sim.BaseAddress, "v1"),
            RetryPolicy = new ClientRetryPolicy(maxRetries),
            NetworkTimeout = TimeSpan.FromSeconds(30),
        };
        if (headers.Length > 0)
        {
            options.AddPolicy(new HeaderPolicy(headers), PipelinePosition.PerCall);
        }

        return options;
    }

    public static ChatClient Chat(SimulatorServer sim, string model = Model, string apiKey = ApiKey, int maxRetries = 0, params (string Name, string Value)[] headers) =>
        new(model, new ApiKeyCredential(apiKey), Options(sim, maxRetries, headers));

    public static OpenAIModelClient Models(SimulatorServer sim) => new(new ApiKeyCredential(ApiKey), Options(sim));

    /// <summary>Adds the simulator's X-Sim-* headers to every request the SDK sends.</summary>
    private sealed class HeaderPolicy((string Name, string Value)[] headers) : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            Apply(message);
            ProcessNext(message, pipeline, currentIndex);
        }

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            Apply(message);
            return ProcessNextAsync(message, pipeline, currentIndex);
        }

        private void Apply(PipelineMessage message)
        {
            foreach (var (name, value) in headers)
            {
                message.Request.Headers.Set(name, value);
            }
        }
    }
}
