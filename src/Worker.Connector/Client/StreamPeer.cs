namespace Worker.Connector.Client;

/// <summary>What a <see cref="StreamCall"/> sends back to the runtime: a <see cref="RuntimeConnection"/>, or an in-process runtime's stream.</summary>
internal interface IStreamPeer
{
    void SendCancel(ulong requestId);

    ValueTask SendWindowAsync(ulong requestId, uint bytes);
}

/// <summary>The <see cref="IStreamPeer"/> of a stream from an <see cref="ILocalRuntime"/>: calls instead of frames.</summary>
internal sealed class LocalStreamPeer(ILocalRuntimeStream stream) : IStreamPeer
{
    public void SendCancel(ulong requestId) => stream.Cancel();

    public ValueTask SendWindowAsync(ulong requestId, uint bytes)
    {
        stream.Grant(bytes);
        return ValueTask.CompletedTask;
    }
}
