using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Polly.Registry;
using Worker.Connector;
using Worker.Connector.OpenAi;
using Worker.Host.Configuration;
using Worker.Host.Contracts;
using Worker.Host.Endpoints;
using Worker.Host.Handling;
using Worker.Host.Intake;
using Worker.Host.Processing;
using Worker.Host.Resilience;
using Worker.Host.Telemetry;

namespace Worker.Host.Tests.Processing;

/// <summary>
/// Per-endpoint breakers through the real handler, processor, Polly pipelines and intake controller; the endpoints are
/// fake clients. Endpoint "a" fails with 500s until its breaker opens; "b" and the default answer.
/// </summary>
public sealed class EndpointFailoverTests : IAsyncDisposable
{
    private static readonly TimeSpan BreakDuration = TimeSpan.FromMinutes(5);
    private readonly FakeEndpoint _default = new("gpt-test");
    private readonly FakeEndpoint _a = new("model-a") { Fail = true };
    private readonly FakeEndpoint _b = new("model-b");
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-02T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly ServiceProvider _services;
    private readonly JobHandler _handler;

    public EndpointFailoverTests()
    {
        var resilience = new ResilienceOptions
        {
            MaxRetryAttempts = 1,
            BaseDelay = TimeSpan.Zero,
            MaxDelay = TimeSpan.Zero,
            MaxRetryAfter = TimeSpan.Zero,
            BreakerFailureRatio = 0.5,
            BreakerMinimumThroughput = 2,
            BreakerBreakDuration = BreakDuration,
        };
        var llm = new LlmHostOptions();
        llm.Endpoints["a"] = new LlmEndpointOptions { Provider = "openai", BaseUrl = "http://a.invalid/v1", Models = ["model-a", "solo-a"] };
        llm.Endpoints["b"] = new LlmEndpointOptions { Provider = "anthropic", BaseUrl = "http://b.invalid/v1", Models = ["model-b"] };
        llm.Fallbacks["model-a"] = ["b/model-b"];
        _services = new ServiceCollection()
            .AddLogging()
            .AddMetrics()
            .AddSingleton(Options.Create(resilience))
            .AddSingleton(Options.Create(llm))
            .AddSingleton<TimeProvider>(_time)
            .AddSingleton<IOutageProbe>(new NeverHealthy())
            .AddSingleton<IntakeController>()
            .AddSingleton<WorkerTelemetry>()
            .AddSingleton<AdmissionTelemetry>()
            .AddWorkerResiliencePipelines()
            .BuildServiceProvider();
        var endpoints = new ChatEndpoints(
            new ChatEndpoint("default", "openai", _default, new HashSet<string>(), ServesAnyModel: true),
            [new ChatEndpoint("a", "openai", _a, new HashSet<string> { "model-a", "solo-a" }, false), new ChatEndpoint("b", "anthropic", _b, new HashSet<string> { "model-b" }, false)],
            llm.Fallbacks);
        var results = new ResultBuilder(_time);
        var admission = new JobAdmission(
            Options.Create(new LimitsOptions()), Options.Create(new WorkerOptions { Concurrency = 4 }), _services.GetRequiredService<AdmissionTelemetry>(), _time);
        var processor = new JobProcessor(_default, _services.GetRequiredService<ResiliencePipelineProvider<string>>(), Intake, admission,
            _services.GetRequiredService<WorkerTelemetry>(), _services.GetRequiredService<AdmissionTelemetry>(), results, Options.Create(resilience),
            NullLogger<JobProcessor>.Instance, _time, endpoints: endpoints);
        _handler = new JobHandler(new JobParser(1024 * 1024, "default", defaultStream: false), processor, results,
            Options.Create(new WorkerOptions { DefaultJobTtl = TimeSpan.FromHours(1) }), NullLogger<JobHandler>.Instance, _time);
    }

    private IntakeController Intake => _services.GetRequiredService<IntakeController>();

    private Task<Disposition> Handle(string json) =>
        _handler.HandleAsync(new JobDelivery(Encoding.UTF8.GetBytes(json), false, _time.GetTimestamp()), CancellationToken.None);

    /// <summary>A job without a fallback opens a's breaker: it waits in a delay queue, and a is marked down.</summary>
    private async Task<Disposition.Delay> OpenBreakerOfA()
    {
        var delay = Assert.IsType<Disposition.Delay>(await Handle("""{"id":"opener","model":"solo-a","prompt":"p"}"""));
        Assert.Equal(2, _a.Calls);
        Assert.True(Intake.IsEndpointDown("a"));
        return delay;
    }

    [Fact]
    public async Task A_job_without_a_fallback_waits_out_its_endpoint_outage_in_a_delay_queue_and_intake_goes_on()
    {
        var delay = await OpenBreakerOfA();

        Assert.Equal(BreakDuration, delay.For);
        Assert.Equal(2, delay.Attempts);
        Assert.Contains("outage: endpoint 'a' is down", delay.Reason, StringComparison.Ordinal);
        Assert.False(Intake.IsPaused);
        Assert.Equal(0, Intake.OutageCount);

        // While a's circuit is open no call reaches it; the job waits again.
        Assert.IsType<Disposition.Delay>(await Handle("""{"id":"again","model":"solo-a","prompt":"p"}"""));
        Assert.Equal(2, _a.Calls);

        // Jobs for other endpoints are answered as usual.
        var other = Assert.IsType<Disposition.Answer>(await Handle("""{"id":"for-b","model":"model-b","prompt":"p"}""")).Result;
        Assert.Equal((JobStatus.Succeeded, "b", "anthropic"), (other.Status, other.Endpoint, other.Provider));
        var fallbackDefault = Assert.IsType<Disposition.Answer>(await Handle("""{"id":"for-default","prompt":"p"}""")).Result;
        Assert.Equal((JobStatus.Succeeded, "default"), (fallbackDefault.Status, fallbackDefault.Endpoint));
    }

    [Fact]
    public async Task A_job_with_a_fallback_goes_to_the_next_endpoint_while_the_breaker_is_open_and_records_the_chain()
    {
        await OpenBreakerOfA();

        var result = Assert.IsType<Disposition.Answer>(await Handle("""{"id":"fb","model":"model-a","prompt":"p"}""")).Result;

        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal(["a", "b"], result.Chain);
        Assert.Equal(("b", "anthropic", "model-b"), (result.Endpoint, result.Provider, result.Model));
        Assert.Equal(2, _a.Calls);
        Assert.Equal("model-b", Assert.Single(_b.Requests).Model);
    }

    [Fact]
    public async Task A_job_pinned_to_a_down_endpoint_does_not_fall_back_and_waits()
    {
        await OpenBreakerOfA();

        var delay = Assert.IsType<Disposition.Delay>(await Handle("""{"id":"pinned","endpoint":"a","model":"model-a","prompt":"p"}"""));

        Assert.Contains("endpoint 'a' is down", delay.Reason, StringComparison.Ordinal);
        Assert.Empty(_b.Requests);
    }

    [Fact]
    public async Task After_the_break_a_call_that_succeeds_closes_the_breaker_and_the_endpoint_is_up_again()
    {
        await OpenBreakerOfA();
        _a.Fail = false;
        _time.Advance(BreakDuration);

        var result = Assert.IsType<Disposition.Answer>(await Handle("""{"id":"after","model":"solo-a","prompt":"p"}""")).Result;

        Assert.Equal((JobStatus.Succeeded, "a"), (result.Status, result.Endpoint));
        Assert.False(Intake.IsEndpointDown("a"));
        Assert.Empty(Intake.DownEndpoints);
    }

    public async ValueTask DisposeAsync() => await _services.DisposeAsync();

    private sealed class FakeEndpoint(string model) : IChatCompletionClient
    {
        public bool Fail { get; set; }

        public int Calls => Requests.Count;

        public List<ChatCompletionRequest> Requests { get; } = [];

        public string DefaultModel => model;

        public string Endpoint => $"http://{model}.invalid/v1/chat/completions";

        public Task<ChatCompletion> CompleteAsync(ChatCompletionRequest request, CancellationToken cancellationToken = default)
        {
            lock (Requests)
            {
                Requests.Add(request);
            }

            return Fail
                ? throw new ConnectorException(ErrorClass.Transient, "HTTP 500") { StatusCode = 500 }
                : Task.FromResult(new ChatCompletion
                {
                    Id = "cmpl-1",
                    Model = request.Model,
                    Choices = [new ChatChoice { Content = "answer", FinishReason = "stop" }],
                    Usage = new ChatUsage(5, 2, 7),
                });
        }
    }

    private sealed class NeverHealthy : IOutageProbe
    {
        public Task<bool> IsHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken) => Task.FromResult(false);
    }
}
