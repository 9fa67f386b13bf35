using Worker.Connector;
using Worker.Connector.Client;
using Worker.Connector.OpenAi;
using Worker.Runtime.Configuration;
using Worker.Runtime.Server;

namespace Worker.Simulator.Conformance;

/// <summary>The retry hints a server sends reach the connector's classification through a real runtime.</summary>
public sealed class RetryHintsEndToEndTests : IAsyncLifetime
{
    private SimulatorServer? _simulator;
    private RuntimeServer? _runtime;
    private RuntimeClient? _client;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatorServer.StartAsync();
        var socket = Path.Combine(Path.GetTempPath(), $"wrh-{Guid.NewGuid():N}"[..16] + ".sock");
        _runtime = new RuntimeServer(new RuntimeServerOptions { SocketPath = socket });
        await _runtime.StartAsync(CancellationToken.None);
        _client = new RuntimeClient(new RuntimeClientOptions { SocketPath = socket, UseTcp = false, DefaultTimeout = TimeSpan.FromSeconds(30) });
    }

    public async Task DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        if (_runtime is not null)
        {
            await _runtime.DisposeAsync();
        }

        if (_simulator is not null)
        {
            await _simulator.DisposeAsync();
        }
    }

    private Task<ChatCompletion> CompleteWithFaultAsync(string fault) =>
        new OpenAiChatClient(_client!, new OpenAiOptions { BaseUrl = new Uri(_simulator!.BaseAddress, "v1").ToString(), ApiKey = string.Empty })
            .CompleteAsync(new ChatCompletionRequest
            {
                Messages = [ChatMessage.User("hi")],
                ExtraHeaders = new Dictionary<string, string> { ["X-Sim-Fault"] = fault },
            });

    [Fact]
    public async Task Retry_after_ms_wins_over_retry_after()
    {
        var error = await Assert.ThrowsAsync<ConnectorException>(() => CompleteWithFaultAsync("rate_limit;retry_after=30;retry_after_ms=1500"));
        Assert.Equal(ErrorClass.RateLimited, error.ErrorClass);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), error.RetryAfter);
    }

    [Fact]
    public async Task X_should_retry_false_makes_a_5xx_final()
    {
        var error = await Assert.ThrowsAsync<ConnectorException>(() => CompleteWithFaultAsync("unavailable;should_retry=false"));
        Assert.Equal(503, error.StatusCode);
        Assert.False(error.IsRetryable);

        var retryable = await Assert.ThrowsAsync<ConnectorException>(() => CompleteWithFaultAsync("unavailable"));
        Assert.True(retryable.IsRetryable);
    }
}
