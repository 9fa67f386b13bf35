using Worker.Host.Configuration;

namespace Worker.Host.Resilience;

/// <summary>The named Polly pipelines (registered with <c>AddResiliencePipeline</c>, resolved from <c>ResiliencePipelineProvider&lt;string&gt;</c>).</summary>
public static class PipelineNames
{
    /// <summary>Around each LLM call to the default endpoint: total timeout, retry, outage breaker.</summary>
    public const string Llm = "llm";

    /// <summary>Around each confirmed publish: rides out a broker blip (connection recovery).</summary>
    public const string Publish = "publish";

    /// <summary>Opening the broker connection and starting the consumer.</summary>
    public const string Broker = "broker";

    /// <summary>
    /// The LLM pipeline of one endpoint (its own breaker): <c>llm</c> for the default endpoint (the name dashboards
    /// already know), <c>llm:&lt;endpoint&gt;</c> for a named one.
    /// </summary>
    public static string ForEndpoint(string endpoint) => endpoint == EndpointProviders.DefaultEndpoint ? Llm : $"{Llm}:{endpoint}";
}
