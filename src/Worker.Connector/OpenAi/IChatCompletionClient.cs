namespace Worker.Connector.OpenAi;

/// <summary>Sends one chat completion request and returns the finished completion, or throws a classified <see cref="ConnectorException"/>.</summary>
public interface IChatCompletionClient
{
    /// <summary>The model used when a request names none.</summary>
    string DefaultModel { get; }

    /// <summary>The URL requests go to (for telemetry: server.address, server.port).</summary>
    string Endpoint { get; }

    Task<ChatCompletion> CompleteAsync(ChatCompletionRequest request, CancellationToken cancellationToken = default);
}
