using System.Diagnostics;
using System.Text.Json;
using Worker.Connector.Client;
using Worker.Connector.OpenAi;
using Worker.Runtime.Server;
using Worker.Runtime.Tests.Support;
using Worker.Simulator;
using Worker.Simulator.Options;

namespace Worker.Runtime.Tests;

/// <summary>
/// Streamed chat completions through our runtime against the simulator's latency model: the first token arrives
/// near the configured time to first token and long before the answer ends, and a cancel shows in the simulator's
/// stats as a client disconnect. Timing-sensitive, so serial, with wide margins.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class StreamingSimulatorTests : IAsyncLifetime
{
    private const string ApiKey = "sk-streaming-test";
    private SimulatorServer _simulator = null!;
    private RuntimeServer _server = null!;
    private RuntimeClient _client = null!;

    public async Task InitializeAsync()
    {
        _simulator = await SimulatorServer.StartAsync(new SimulatorOptions
        {
            ApiKey = ApiKey,
            Latency = new LatencyOptions { TimeToFirstTokenMs = 300, TimePerTokenMs = 20 },
        });
        _server = await TestRuntime.StartAsync();
        _client = TestRuntime.Client(_server);
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
        await _simulator.DisposeAsync();
    }

    [Fact]
    public async Task The_first_token_arrives_near_the_simulated_ttft_long_before_the_end()
    {
        var firstTokenWhileSending = -1;
        var observer = new Observer(() => firstTokenWhileSending = _simulator.Stats.ConcurrentRequests);
        var watch = Stopwatch.StartNew();

        var completion = await Chat().CompleteAsync(Request(tokens: 60) with { Observer = observer });
        watch.Stop();

        // 300 ms to the first token, then 60 tokens at 20 ms: the whole answer takes at least 1.5 s.
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(1.4), TimeSpan.FromSeconds(60));
        var ttft = Assert.NotNull(completion.TimeToFirstToken);
        Assert.InRange(ttft, TimeSpan.FromMilliseconds(290), watch.Elapsed - TimeSpan.FromSeconds(0.8));
        Assert.Equal(1, firstTokenWhileSending);
        Assert.True(observer.Deltas > 10, $"{observer.Deltas} deltas observed");
        Assert.Equal("stop", completion.FinishReason);
        Assert.NotNull(completion.Usage);
        Assert.Equal(0, _simulator.Stats.ClientDisconnects);
    }

    [Fact]
    public async Task A_cancelled_call_shows_as_a_client_disconnect_in_the_simulator()
    {
        using var cancel = new CancellationTokenSource();
        var observer = new Observer(cancel.Cancel);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            Chat().CompleteAsync(Request(tokens: 5000) with { Observer = observer }, cancel.Token));

        await TestRuntime.EventuallyAsync(() => _simulator.Stats.ClientDisconnects == 1, TimeSpan.FromSeconds(10), "the simulator saw the drop");
        await TestRuntime.EventuallyAsync(() => _simulator.Stats.ConcurrentRequests == 0 && _server.ActiveRequests == 0, TimeSpan.FromSeconds(10), "nothing left in flight");
        Assert.Equal(1, _server.Streams.Cancelled);
    }

    private OpenAiChatClient Chat() =>
        new(_client, new OpenAiOptions { BaseUrl = new Uri(_simulator.BaseAddress, "v1").ToString(), ApiKey = ApiKey, Model = "gpt-4o-mini" });

    private static ChatCompletionRequest Request(int tokens)
    {
        using var simTokens = JsonDocument.Parse(tokens.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return new ChatCompletionRequest
        {
            Messages = [ChatMessage.User("Tell me a story")],
            ExtraParameters = new Dictionary<string, JsonElement> { ["sim_tokens"] = simTokens.RootElement.Clone() },
        };
    }

    private sealed class Observer(Action firstToken) : IChatStreamObserver
    {
        public int Deltas { get; private set; }

        public ValueTask OnFirstTokenAsync(TimeSpan timeToFirstToken, CancellationToken cancellationToken)
        {
            firstToken();
            return ValueTask.CompletedTask;
        }

        public ValueTask OnDeltaAsync(ChatDelta delta, CancellationToken cancellationToken)
        {
            Deltas++;
            return ValueTask.CompletedTask;
        }
    }
}
