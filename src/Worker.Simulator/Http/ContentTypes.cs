namespace Worker.Simulator.Http;

/// <summary>Content types of the answers.</summary>
internal static class ContentTypes
{
    public const string Json = "application/json";

    // OpenAI sends the charset parameter too.
    public const string EventStream = "text/event-stream; charset=utf-8";
}
