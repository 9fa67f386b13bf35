namespace Worker.Host.Configuration;

/// <summary>The provider names of <c>Llm:Endpoints:&lt;name&gt;:Provider</c>.</summary>
public static class EndpointProviders
{
    public const string OpenAi = "openai";
    public const string Anthropic = "anthropic";
    public const string Gemini = "gemini";

    /// <summary>The name of the single-endpoint configuration (<c>Llm:BaseUrl</c>, <c>Llm:Model</c>, <c>Llm:ApiKey</c>).</summary>
    public const string DefaultEndpoint = "default";

    /// <summary>A <c>Models</c> entry meaning "any model".</summary>
    public const string AnyModel = "*";

    public static readonly IReadOnlyList<string> All = [OpenAi, Anthropic, Gemini];
}
