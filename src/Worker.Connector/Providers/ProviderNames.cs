namespace Worker.Connector.Providers;

/// <summary>The values of <see cref="OpenAi.ChatCompletion.Provider"/>.</summary>
public static class ProviderNames
{
    public const string OpenAi = "openai";
    public const string Anthropic = "anthropic";
    public const string Gemini = "gemini";
}
