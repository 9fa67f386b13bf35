namespace Worker.Simulator.Json;

/// <summary>Roles OpenAI accepts in <c>messages[].role</c>.</summary>
internal enum MessageRole
{
    System,
    Developer,
    User,
    Assistant,
    Tool,
    Function,
}
