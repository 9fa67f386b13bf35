namespace Worker.Simulator.Http;

/// <summary>Which API's error shape a route answers with.</summary>
internal enum ErrorDialect
{
    /// <summary><c>{"error":{"message","type","param","code"}}</c>.</summary>
    OpenAi,

    /// <summary>Google: <c>{"error":{"code","message","status"}}</c>.</summary>
    Google,

    /// <summary>Anthropic: <c>{"type":"error","error":{"type","message"}}</c>, the type named by the status.</summary>
    Anthropic,
}
