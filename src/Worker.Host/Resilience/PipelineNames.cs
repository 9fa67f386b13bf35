namespace Worker.Host.Resilience;

/// <summary>The named Polly pipelines (registered with <c>AddResiliencePipeline</c>, resolved from <c>ResiliencePipelineProvider&lt;string&gt;</c>).</summary>
public static class PipelineNames
{
    /// <summary>Around each LLM call: total timeout, retry, outage breaker.</summary>
    public const string Llm = "llm";

    /// <summary>Around each confirmed publish: rides out a broker blip (connection recovery).</summary>
    public const string Publish = "publish";

    /// <summary>Opening the broker connection and starting the consumer.</summary>
    public const string Broker = "broker";
}
