using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Worker.Host.Configuration;
using Worker.Host.Intake;
using Worker.Host.Resilience;
using Worker.Testing;

namespace Worker.Host.Tests.Intake;

public sealed class IntakeControllerTests
{
    private static readonly TimeSpan BreakDuration = TimeSpan.FromSeconds(5);
    private readonly FakeTimeProvider _time = new();

    private IntakeController Create(IOutageProbe probe) =>
        new(probe, Options.Create(new ResilienceOptions { BreakerBreakDuration = BreakDuration }), NullLogger<IntakeController>.Instance, _time);

    [Fact]
    public async Task An_outage_pauses_intake_once_and_a_successful_probe_after_the_break_resumes_it()
    {
        var probe = new ScriptedProbe(false, true);
        await using var intake = Create(probe);
        Assert.True(intake.TryAdmit().Admitted);

        var paused = intake.WaitForPauseAsync(CancellationToken.None);
        intake.ReportOutage("circuit opened\nforged");
        intake.ReportOutage("a second report of the same outage");
        Assert.Equal("circuit opened\\nforged", await paused);
        var admission = intake.TryAdmit();
        Assert.False(admission.Admitted);
        Assert.Equal("circuit opened\\nforged", admission.Reason);
        Assert.Equal(1, intake.OutageCount);

        var resumed = intake.WaitForResumeAsync(CancellationToken.None);
        _time.Advance(BreakDuration - TimeSpan.FromMilliseconds(1));
        Assert.Equal(0, probe.Calls);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await Eventually.TrueAsync(() => probe.Calls == 1, TimeSpan.FromSeconds(5)));
        Assert.True(intake.IsPaused, "the first probe failed");

        _time.Advance(BreakDuration);
        await resumed.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(2, probe.Calls);
        Assert.True(intake.TryAdmit().Admitted);
    }

    [Fact]
    public async Task A_new_outage_after_recovery_pauses_again()
    {
        await using var intake = Create(new ScriptedProbe(true, true));
        intake.ReportOutage("first");
        _time.Advance(BreakDuration);
        await intake.WaitForResumeAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
        var paused = intake.WaitForPauseAsync(CancellationToken.None);
        intake.ReportOutage("second");
        Assert.Equal("second", await paused.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(2, intake.OutageCount);
    }

    private IntakeController CreateWithEndpoints(IOutageProbe probe, params string[] named)
    {
        var llm = new LlmHostOptions();
        foreach (var name in named)
        {
            llm.Endpoints[name] = new LlmEndpointOptions { Provider = "openai", BaseUrl = $"https://{name}.example/v1" };
        }

        return new(probe, Options.Create(new ResilienceOptions { BreakerBreakDuration = BreakDuration }), NullLogger<IntakeController>.Instance, _time, Options.Create(llm));
    }

    [Fact]
    public async Task One_endpoint_down_does_not_pause_intake_and_its_recovery_clears_it()
    {
        await using var intake = CreateWithEndpoints(new ScriptedProbe(true), "claude", "gemini");
        intake.ReportEndpointDown("claude", "circuit opened");
        intake.ReportEndpointDown("claude", "again");

        Assert.True(intake.IsEndpointDown("claude"));
        Assert.False(intake.IsEndpointDown("gemini"));
        Assert.Equal(["claude"], intake.DownEndpoints);
        Assert.False(intake.IsPaused);
        Assert.True(intake.TryAdmit().Admitted);
        Assert.Equal(OutageWait.Delay, intake.Hold(new Polly.CircuitBreaker.BrokenCircuitException("open"), "claude"));
        Assert.Equal(OutageWait.None, intake.Hold(new Worker.Connector.ConnectorException(Worker.Connector.ErrorClass.Transient, "HTTP 500") { StatusCode = 500 }, "gemini"));

        intake.ReportEndpointUp("claude");
        Assert.Empty(intake.DownEndpoints);
        Assert.Equal(0, intake.OutageCount);
    }

    [Fact]
    public async Task Every_endpoint_down_pauses_intake_and_its_jobs_are_requeued()
    {
        await using var intake = CreateWithEndpoints(new ScriptedProbe(false), "claude");
        var paused = intake.WaitForPauseAsync(CancellationToken.None);
        intake.ReportEndpointDown("claude", "circuit opened");
        Assert.False(intake.IsPaused, "the default endpoint is still up");

        intake.ReportEndpointDown("default", "circuit opened\nforged");

        Assert.Contains("every endpoint is down", await paused.WaitAsync(TimeSpan.FromSeconds(5)), StringComparison.Ordinal);
        Assert.Equal(1, intake.OutageCount);
        Assert.Equal(OutageWait.Requeue, intake.Hold(new Polly.CircuitBreaker.BrokenCircuitException("open"), "claude"));
    }

    [Fact]
    public async Task An_unreachable_runtime_pauses_intake_whatever_the_endpoints()
    {
        await using var intake = CreateWithEndpoints(new ScriptedProbe(false), "claude");
        var wait = intake.Hold(new Worker.Connector.ConnectorException(Worker.Connector.ErrorClass.Transient, "runtime socket not listening") { RuntimeUnavailable = true }, "claude");
        Assert.Equal(OutageWait.Requeue, wait);
        Assert.True(intake.IsPaused);
        Assert.Empty(intake.DownEndpoints);
    }

    private sealed class ScriptedProbe(params bool[] answers) : IOutageProbe
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public Task<bool> IsHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
            Task.FromResult(answers[Math.Min(Interlocked.Increment(ref _calls) - 1, answers.Length - 1)]);
    }
}
